"""Quick replies as inline keyboards, and lanes: the small pieces, without a server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiogram.types import CallbackQuery, Chat, InaccessibleMessage, Message, User

from bot.telegram.keyboards import (
    CHOSEN,
    MAX_CALLBACK_BYTES,
    callback_data,
    chosen_keyboard,
    keyboard,
    pressed_text,
)
from bot.telegram.lanes import Lanes
from bot.telegram.sender import IN_FLIGHT_POLL, Window, split_text

SHOPPER = User(id=1, is_bot=False, first_name="小明")
CHAT = Chat(id=1, type="private")


def _query(data: str, message: Message | InaccessibleMessage | None) -> CallbackQuery:
    return CallbackQuery(id="q1", from_user=SHOPPER, chat_instance="c", data=data,
                         message=message)


def test_short_texts_travel_in_the_data() -> None:
    assert callback_data(0, "尺码推荐") == "say:尺码推荐"
    long = "我" * 30  # 90 bytes
    assert callback_data(3, long) == "btn:3"
    for i, text in enumerate(["1", "尺码推荐", "商品咨询/优惠", long, "x" * 60]):
        assert len(callback_data(i, text).encode()) <= MAX_CALLBACK_BYTES


def test_layout() -> None:
    rating = keyboard(list("12345"))
    assert rating is not None and [len(r) for r in rating.inline_keyboard] == [5]
    quick = keyboard(["尺码怎么选", "什么时候发货", "我要退货", "转人工"])
    assert quick is not None and [len(r) for r in quick.inline_keyboard] == [2, 2]
    wide = keyboard(["这是一个很长很长的按钮文字", "短"])
    assert wide is not None and [len(r) for r in wide.inline_keyboard] == [1, 1]
    assert keyboard([]) is None and keyboard(["", " "]) is None


def test_pressed_text() -> None:
    long = "我对这次服务非常满意，客服态度很好，谢谢你们"  # > 64 bytes with the prefix
    markup = keyboard(["好", long])
    message = Message(message_id=5, date=datetime.now(UTC), chat=CHAT, text="?",
                      reply_markup=markup)
    assert pressed_text(_query("say:好", message)) == "好"
    assert pressed_text(_query("btn:1", message)) == long
    assert pressed_text(_query("btn:7", message)) is None
    assert pressed_text(_query("btn:1", InaccessibleMessage(chat=CHAT, message_id=5))) is None
    assert pressed_text(_query(CHOSEN, message)) is None
    assert pressed_text(_query("somebody else's", message)) is None
    assert chosen_keyboard("好").inline_keyboard[0][0].callback_data == CHOSEN


def test_split_text() -> None:
    assert split_text("短") == ["短"]
    parts = split_text("一二三四五\n" * 2000)
    assert all(len(p) <= 4000 for p in parts) and "".join(parts) == "一二三四五\n" * 2000
    assert all(p.endswith("\n") for p in parts[:-1])
    assert "".join(split_text("x" * 9000)) == "x" * 9000


def test_window() -> None:
    window = Window(2, 1.0)
    assert window.delay(0.0) == 0
    first, second = window.take(0.0), window.take(0.1)
    assert window.delay(0.5) == IN_FLIGHT_POLL  # full, and neither call answered yet
    Window.settle(first, 0.05)
    assert abs(window.delay(0.5) - 0.55) < 1e-9  # counted until a period after its answer
    Window.settle(second, 0.2)
    assert abs(window.delay(0.9) - 0.15) < 1e-9
    assert window.delay(1.05) == 0
    assert not window.idle(1.1) and window.idle(1.25)


async def test_lanes_keep_order_per_key_and_run_keys_side_by_side() -> None:
    lanes = Lanes()
    seen: list[tuple[str, int]] = []
    running = 0
    most = 0

    def job(key: str, i: int, fail: bool = False):  # type: ignore[no-untyped-def]
        async def run() -> None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.01 * (3 - i % 3))
            running -= 1
            if fail:
                raise RuntimeError("boom")
            seen.append((key, i))
        return run

    for i in range(6):
        for key in "abc":
            lanes.submit(key, job(key, i, fail=(key == "b" and i == 2)))
    assert lanes.pending == 18
    assert await lanes.join(5)
    for key in "abc":
        expected = [i for i in range(6) if not (key == "b" and i == 2)]
        assert [i for k, i in seen if k == key] == expected
    assert most == 3 and lanes.pending == 0
    await lanes.close(1)
