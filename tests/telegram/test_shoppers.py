"""Shoppers' private chats through the fake Bot API server, over real HTTP.

Expected texts come from a reference engine fed the same lines: the Telegram side must
deliver exactly the engine's replies, in order, once each.
"""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from bot.brain import Brain
from bot.services import Services
from bot.telegram import FloodLimits
from bot.turn import Incoming, Reply, Turn
from config import Settings
from tests.fake_telegram import FakeTelegram
from tests.telegram.conftest import Reference, running

NAME = "小明"
SIZE = re.compile(r"(?<![A-Za-z])(XS|S|M|L|XL|XXL|[2-4]XL)(?![A-Za-z])")


async def test_story_welcome_then_sizing(services: Services, settings: Settings, brain: Brain,
                                         tg: FakeTelegram) -> None:
    ref = Reference(settings, brain, 1001, NAME)
    expected = await ref.welcome()
    lines = ["这件卫衣什么码合适", "我170", "65公斤", "喜欢宽松点"]
    per_line = [await ref.say(line) for line in lines]
    async with running(services, tg):
        tg.text(1001, "/start")
        welcome = await tg.wait_texts(1001, 1)
        assert welcome == expected and "测试小铺" in welcome[0]
        for line, replies in zip(lines, per_line, strict=True):
            tg.text(1001, line)  # one line at a time, like a shopper reading the answers
            expected += replies
            assert await tg.wait_texts(1001, len(expected)) == expected
        await asyncio.sleep(0.2)
    assert tg.texts(1001) == expected
    assert SIZE.search(expected[-1]), expected[-1]
    state = await services.store.load("telegram:1001")
    assert state is not None and state.slots.get("height") == 170


async def test_first_message_without_start_gets_the_welcome_first(
        services: Services, settings: Settings, brain: Brain, tg: FakeTelegram) -> None:
    ref = Reference(settings, brain, 1002, NAME)
    expected = await ref.welcome() + await ref.say("发货了吗")
    async with running(services, tg):
        tg.text(1002, "发货了吗")
        assert await tg.wait_texts(1002, len(expected)) == expected


async def test_button_press_works_like_typing(services: Services, settings: Settings,
                                              brain: Brain, tg: FakeTelegram) -> None:
    ref = Reference(settings, brain, 1003, NAME)
    hello = await ref.welcome() + await ref.say("你好")
    expected = hello + await ref.say("我要退货")
    async with running(services, tg):
        tg.text(1003, "你好")
        await tg.wait_texts(1003, len(hello))
        buttons = tg.sent(1003)[len(hello) - 1]["reply_markup"]["inline_keyboard"]
        assert "我要退货" in [b["text"] for row in buttons for b in row]
        tg.press(1003, "我要退货")
        assert await tg.wait_texts(1003, len(expected)) == expected
        await tg.wait_until(lambda: bool(tg.called("editMessageReplyMarkup")))
    assert [c.ok for c in tg.called("answerCallbackQuery")] == [True]
    edit = tg.called("editMessageReplyMarkup")[0].params["reply_markup"]
    assert edit["inline_keyboard"][0][0]["text"] == "✓ 我要退货"
    log = await services.store.transcript("telegram:1003")
    assert [e.text for e in log if e.role == "shopper"] == ["你好", "我要退货"]


async def test_outbox_buttons_press_like_typing(services: Services, tg: FakeTelegram) -> None:
    """The handoff bridge's rating question (1–5) and a button too long for callback_data."""
    long_button = "我对这次服务非常满意，客服态度很好，问题也解决了"  # 72 bytes in UTF-8
    async with running(services, tg) as channel:
        tg.text(1004, "/start")
        await tg.wait_texts(1004, 1)
        outbox = services.channels.get("telegram")
        assert outbox is channel.outbox
        assert await outbox.deliver("1004", [Reply("请给这次服务打个分", tuple("12345"))])
        assert await outbox.deliver("1004", [Reply("或者直接说", (long_button,))],
                                    sender="agent", agent_name="小王")
        texts = await tg.wait_texts(1004, 3)
        assert texts[1:] == ["请给这次服务打个分", "小王: 或者直接说"]
        rating, other = tg.sent(1004)[1:3]
        assert [[b["text"] for b in row] for row in rating["reply_markup"]["inline_keyboard"]] \
            == [["1", "2", "3", "4", "5"]]
        assert other["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "btn:0"
        tg.press(1004, "5")
        await tg.wait_texts(1004, 4)
        tg.press(1004, long_button)
        await tg.wait_texts(1004, 5)
    log = await services.store.transcript("telegram:1004")
    assert [e.text for e in log if e.role == "shopper"] == ["5", long_button]


@pytest.mark.parametrize("kind", ["photo", "sticker", "voice", "document", "video",
                                  "video_note", "audio", "animation"])
async def test_media_gets_the_library_answer(services: Services, settings: Settings,
                                             brain: Brain, tg: FakeTelegram, kind: str) -> None:
    ref = Reference(settings, brain, 1005, NAME)
    expected = await ref.welcome() + await ref.say("", kind="photo")
    async with running(services, tg):
        tg.media(1005, kind, caption="这个有货吗" if kind == "photo" else None)
        texts = await tg.wait_texts(1005, 2)
    assert texts == expected
    assert texts[1] in brain.library.system["input_unsupported"]


async def test_location_and_service_messages(services: Services, settings: Settings,
                                             brain: Brain, tg: FakeTelegram) -> None:
    ref = Reference(settings, brain, 1006, NAME)
    expected = await ref.welcome() + await ref.say("", kind="other") + await ref.say("谢谢")
    async with running(services, tg):
        tg.text(1006, "/start")
        await tg.wait_texts(1006, 1)
        tg.push({"update_id": tg.next_update_id(), "message": {
            "message_id": 50, "date": 1, "chat": tg.chat(1006), "from": tg.user(1006),
            "location": {"latitude": 31.23, "longitude": 121.47}}})
        texts = await tg.wait_texts(1006, 2)
        assert texts[1] in brain.library.system["input_unsupported"]
        tg.push({"update_id": tg.next_update_id(), "message": {
            "message_id": 51, "date": 1, "chat": tg.chat(1006), "from": tg.user(1006),
            "pinned_message": {"message_id": 1, "date": 0, "chat": tg.chat(1006)}}})
        tg.text(1006, "谢谢")
        await tg.wait_texts(1006, len(expected))
        await asyncio.sleep(0.2)
    assert tg.texts(1006) == expected  # nothing for the pin


async def test_media_in_a_paused_conversation_does_not_crash(services: Services,
                                                             tg: FakeTelegram) -> None:
    """With an agent on the chat, the engine relays; media carry kind, file id, caption."""
    state_key = "telegram:1007"
    seen: list[Incoming] = []
    handle = services.engine.handle

    async def spy(msg: Incoming) -> Turn:
        seen.append(msg)
        return await handle(msg)

    services.engine.handle = spy  # type: ignore[method-assign]
    async with running(services, tg):
        tg.text(1007, "/start")
        await tg.wait_texts(1007, 1)
        state = await services.store.load(state_key)
        assert state is not None
        state.status = "agent"
        await services.store.save(state_key, state)
        tg.media(1007, "photo", caption="看这个")
        tg.media(1007, "sticker")
        for _ in range(100):
            log = await services.store.transcript(state_key)
            if [e.text for e in log if e.role == "shopper"] == ["看这个", "[sticker]"]:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"not relayed: {log}")
    photo, sticker = seen
    assert (photo.kind, photo.text, photo.display_name) == ("photo", "看这个", NAME)
    assert photo.attachment and photo.attachment.startswith("photo-file-")
    assert not photo.attachment.endswith("-s")  # the largest size, not the thumbnail
    assert sticker.kind == "sticker" and (sticker.attachment or "").startswith("sticker-file-")


async def test_edited_messages_are_ignored(services: Services, settings: Settings,
                                           brain: Brain, tg: FakeTelegram) -> None:
    ref = Reference(settings, brain, 1008, NAME)
    expected = await ref.welcome() + await ref.say("我要退货") + await ref.say("谢谢")
    async with running(services, tg):
        update = tg.text(1008, "我要退货")
        await tg.wait_texts(1008, 2)
        tg.edit(1008, update["message"]["message_id"], "我要换货")
        # Even when delivered regardless of allowed_updates, nothing answers it.
        tg.allowed_updates = None
        tg.push({"update_id": tg.next_update_id(), "edited_message": {
            **update["message"], "text": "我要换货", "edit_date": 2}})
        tg.text(1008, "谢谢")
        await tg.wait_texts(1008, len(expected))
        await asyncio.sleep(0.2)
    assert "edited_message" not in (tg.called("getUpdates")[0].params["allowed_updates"])
    assert tg.texts(1008) == expected


async def test_duplicate_update_is_handled_once(services: Services, settings: Settings,
                                                brain: Brain, tg: FakeTelegram) -> None:
    ref = Reference(settings, brain, 1009, NAME)
    first = await ref.welcome() + await ref.say("发货了吗")
    expected = first + await ref.say("谢谢")
    async with running(services, tg) as channel:
        update = tg.text(1009, "发货了吗")
        assert await tg.wait_texts(1009, len(first)) == first
        tg.push(update, force=True)  # delivered again after it was confirmed
        tg.push(update, update, force=True)  # and twice in one batch
        tg.text(1009, "谢谢")
        await tg.wait_texts(1009, len(expected))
        await asyncio.sleep(0.2)
        assert channel.intake.duplicates == 3
    assert tg.texts(1009) == expected
    log = await services.store.transcript("telegram:1009")
    assert [e.text for e in log if e.role == "shopper"] == ["发货了吗", "谢谢"]


async def test_burst_is_answered_in_order_within_flood_limits(
        services: Services, settings: Settings, brain: Brain) -> None:
    """Five messages in one second, the default flood limits, a fake that 429s anyone who
    goes over Telegram's: every answer once, in order, and no 429."""
    lines = ["你好", "这件是纯棉的吗", "我要退货", "发货了吗", "好的谢谢"]
    ref = Reference(settings, brain, 1010, NAME)
    expected = await ref.welcome()
    for line in lines:
        expected += await ref.say(line)
    async with FakeTelegram(flood_limits=True) as tg, running(services, tg, limits=FloodLimits()):
        for line in lines:
            tg.text(1010, line)
            await asyncio.sleep(0.2)
        texts = await tg.wait_texts(1010, len(expected), within=20)
        await asyncio.sleep(0.3)
    assert texts == expected and len(tg.texts(1010)) == len(expected)
    assert not [c for c in tg.calls if c.status == 429]


async def test_many_shoppers_bursting_at_once(services: Services, tg: FakeTelegram) -> None:
    """Ten shoppers, three quick lines each: each chat's transcript keeps its own order."""
    lines = ["你好", "发货了吗", "谢谢"]
    async with running(services, tg):
        for line in lines:
            for chat in range(2001, 2011):
                tg.text(chat, line)
        await tg.wait_until(lambda: all(len(tg.texts(c)) >= 4 for c in range(2001, 2011)),
                            within=20)
        await asyncio.sleep(0.3)
    for chat in range(2001, 2011):
        log = await services.store.transcript(f"telegram:{chat}")
        assert [e.text for e in log if e.role == "shopper"] == lines


async def test_messages_sent_while_the_bot_was_down(services: Services, settings: Settings,
                                                    brain: Brain, tg: FakeTelegram) -> None:
    lines = ["你好", "这件是纯棉的吗", "发货了吗"]
    ref = Reference(settings, brain, 1011, NAME)
    expected = await ref.welcome()
    for line in lines:
        expected += await ref.say(line)
    for line in lines:
        tg.text(1011, line)
    async with running(services, tg):
        assert await tg.wait_texts(1011, len(expected)) == expected


async def test_restart_does_not_answer_the_last_batch_again(
        services: Services, settings: Settings, brain: Brain, tg: FakeTelegram) -> None:
    ref = Reference(settings, brain, 1012, NAME)
    first = await ref.welcome() + await ref.say("发货了吗")
    expected = first + await ref.say("谢谢")
    async with running(services, tg):
        tg.text(1012, "发货了吗")
        await tg.wait_texts(1012, len(first))
    async with running(services, tg):  # memory dedupe is gone; the offset was confirmed
        tg.text(1012, "谢谢")
        await tg.wait_texts(1012, len(expected))
        await asyncio.sleep(0.3)
    assert tg.texts(1012) == expected


async def test_flood_429_waits_and_loses_nothing(services: Services, settings: Settings,
                                                 brain: Brain, tg: FakeTelegram) -> None:
    ref = Reference(settings, brain, 1013, NAME)
    expected = await ref.welcome() + await ref.say("你好") + await ref.say("发货了吗")
    async with running(services, tg) as channel:
        tg.text(1013, "/start")
        await tg.wait_texts(1013, 1)
        tg.flood(retry_after=1, chat_id=1013, times=2)
        tg.text(1013, "你好")
        tg.text(1013, "发货了吗")
        texts = await tg.wait_texts(1013, len(expected), within=15)
        await asyncio.sleep(0.2)
        assert channel.sender.stats.retried_after_429 == 2
    sends = tg.called("sendMessage", 1013)
    refused = [c for c in sends if c.status == 429]
    assert len(refused) == 2
    first_ok_after = min(c.at for c in sends if c.ok and c.at > refused[0].at)
    assert first_ok_after - refused[0].at >= 0.95
    assert texts == expected == tg.texts(1013)


async def test_blocked_by_the_shopper_is_logged_not_fatal(
        services: Services, tg: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.telegram")
    async with running(services, tg) as channel:
        tg.block(1014)
        tg.text(1014, "你好")
        await tg.wait_until(lambda: len(tg.called("sendMessage", 1014)) >= 2)
        tg.text(1015, "你好")
        await tg.wait_until(lambda: len(tg.texts(1015)) == len(tg.called("sendMessage", 1014)))
        assert channel.sender.stats.dropped_forbidden == len(tg.called("sendMessage", 1014))
    assert "bot was blocked by the user" in caplog.text
    assert all(c.status == 403 for c in tg.called("sendMessage", 1014))


async def test_malformed_updates_never_crash(services: Services, tg: FakeTelegram,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.telegram")
    async with running(services, tg) as channel:
        tg.push(
            {"update_id": tg.next_update_id(), "message": {"text": "没有 chat 和 date"}},
            "not an object",
            [1, 2, 3],
            {"no_update_id": True},
            {"update_id": tg.next_update_id(), "brand_new_kind": {"x": 1}},
            {"update_id": tg.next_update_id(), "callback_query": {"id": "1"}},
            {"update_id": tg.next_update_id(), "message": {
                "message_id": 1, "date": 1, "chat": {"id": 1016, "type": "private"}}},
        )
        tg.text(1016, "你好")
        await tg.wait_texts(1016, 2)
        assert channel.intake.malformed >= 5
    assert "malformed update" in caplog.text


async def test_groups_are_not_answered_as_shoppers(services: Services, tg: FakeTelegram) -> None:
    async with running(services, tg):
        tg.text(-100500, "你好")
        tg.text(1017, "你好")
        await tg.wait_texts(1017, 2)
        await asyncio.sleep(0.2)
    assert tg.texts(-100500) == []
