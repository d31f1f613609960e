"""The outgoing queue against the fake Bot API: flood limits, 429/403/400/5xx, long texts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import CloseForumTopic, CreateForumTopic, GetChatMember, SendMessage
from aiogram.types import ForumTopic

from bot.telegram.sender import FloodLimits, TelegramSender
from tests.fake_telegram import BOT_ID, TOKEN, Call, FakeTelegram


@asynccontextmanager
async def sender_for(tg: FakeTelegram, limits: FloodLimits | None = None
                     ) -> AsyncIterator[TelegramSender]:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.url)))
    sender = TelegramSender(bot, limits or FloodLimits.off())
    try:
        yield sender
    finally:
        await sender.close(5)
        await bot.session.close()


def most_in_window(calls: list[Call], period: float) -> int:
    """The largest number of ``calls`` inside any ``period``-second window."""
    times = sorted(c.at for c in calls)
    return max((sum(1 for t in times if start <= t < start + period) for start in times),
               default=0)


async def test_private_chat_limit(tg: FakeTelegram) -> None:
    async with sender_for(tg, FloodLimits(private=(2, 0.5))) as sender:
        for i in range(6):
            sender.send_text(3001, f"第{i}条")
        assert await sender.flush(10)
    calls = tg.called("sendMessage", 3001)
    assert [c.params["text"] for c in calls] == [f"第{i}条" for i in range(6)]
    assert most_in_window(calls, 0.5) <= 2
    assert calls[-1].at - calls[0].at >= 0.95  # six at two per half second


async def test_group_and_overall_limits(tg: FakeTelegram) -> None:
    limits = FloodLimits(group=(3, 1.0), overall=(5, 0.5))
    async with sender_for(tg, limits) as sender:
        for i in range(5):
            sender.send_text(-100777, f"群{i}")
        for chat in range(3101, 3109):
            sender.send_text(chat, "你好")
        assert await sender.flush(10)
    group = tg.called("sendMessage", -100777)
    assert len(group) == 5 and most_in_window(group, 1.0) <= 3
    everything = tg.called("sendMessage")
    assert len(everything) == 13 and most_in_window(everything, 0.5) <= 5


async def test_default_limits_keep_the_fake_quiet() -> None:
    """Telegram-like 429s on the fake never fire when the default limits are honoured."""
    async with FakeTelegram(flood_limits=True) as tg, sender_for(tg, FloodLimits()) as sender:
        for i in range(5):
            sender.send_text(3201, f"第{i}条")
        for chat in range(3202, 3232):
            sender.send_text(chat, "你好")
        assert await sender.flush(15)
    assert not [c for c in tg.calls if c.status == 429]
    assert len(tg.sent()) == 35


async def test_429_retries_after_the_wait_and_keeps_order(tg: FakeTelegram) -> None:
    tg.flood(retry_after=1, chat_id=3301, times=3)
    async with sender_for(tg) as sender:
        sender.send_text(3301, "一")
        sender.send_text(3301, "二")
        sender.send_text(3302, "别的客人")
        assert await sender.flush(15)
        assert sender.stats.retried_after_429 == 3
    assert tg.texts(3301) == ["一", "二"]
    refused = [c for c in tg.called("sendMessage", 3301) if c.status == 429]
    delivered = [c for c in tg.called("sendMessage", 3301) if c.ok]
    assert delivered[0].at - refused[-1].at >= 0.95
    other = tg.called("sendMessage", 3302)[0]
    assert other.at < delivered[0].at  # one chat's wait does not hold the others


async def test_403_and_400_are_logged_and_dropped(tg: FakeTelegram,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.telegram")
    tg.block(3401)
    tg.forum(-100888)
    async with sender_for(tg) as sender:
        assert await sender.call(3401, SendMessage(chat_id=3401, text="你好")) is None
        lost = SendMessage(chat_id=-100888, message_thread_id=999, text="新消息")
        assert await sender.call(-100888, lost) is None
        tg.thread_not_found(chat_id=3402)
        sender.send_text(3402, "一")
        sender.send_text(3402, "二")
        assert await sender.flush(5)
        assert sender.stats.dropped_forbidden == 1
        assert sender.stats.dropped_bad_request == 2
    assert "bot was blocked by the user" in caplog.text
    assert "message thread not found" in caplog.text
    assert tg.texts(3402) == ["二"]


async def test_server_errors_are_retried(tg: FakeTelegram) -> None:
    tg.fail("sendMessage", 502, "Bad Gateway", chat_id=3501, times=2)
    async with sender_for(tg) as sender:
        sender.send_text(3501, "你好")
        assert await sender.flush(10)
        assert sender.stats.retried_network == 2
    assert tg.texts(3501) == ["你好"]


async def test_forum_calls_return_their_results(tg: FakeTelegram) -> None:
    """What the agents' router will need: topics and their ids through the same queue."""
    tg.forum(-100999)
    async with sender_for(tg) as sender:
        topic = await sender.call(-100999, CreateForumTopic(chat_id=-100999, name="小明 #1"))
        assert isinstance(topic, ForumTopic) and topic.name == "小明 #1"
        thread = topic.message_thread_id
        sent = await sender.call(-100999, SendMessage(chat_id=-100999, text="新客人",
                                                      message_thread_id=thread))
        assert sent is not None and sent.message_thread_id == thread
        assert await sender.call(-100999, CloseForumTopic(chat_id=-100999,
                                                          message_thread_id=thread))
        closed = SendMessage(chat_id=-100999, text="晚了", message_thread_id=thread)
        assert await sender.call(-100999, closed) is None
        member = await sender.call(-100999, GetChatMember(chat_id=-100999, user_id=BOT_ID))
        assert member is not None and member.status == "administrator"
        assert getattr(member, "can_manage_topics", False)
    assert tg.topics[-100999][thread]["closed"] is True


async def test_long_text_is_split_with_buttons_last(tg: FakeTelegram) -> None:
    text = "这是一段很长的说明。\n" * 900
    async with sender_for(tg) as sender:
        sender.send_text(3601, text, ("好的", "转人工"))
        assert await sender.flush(5)
    sent = tg.sent(3601)
    assert len(sent) == 3 and "".join(m["text"] for m in sent) == text
    assert [("reply_markup" in m) for m in sent] == [False, False, True]
