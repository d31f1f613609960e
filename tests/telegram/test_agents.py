"""Agents in a forum supergroup, end to end through the fake Bot API server over real HTTP.

Shoppers write in private chats, the handoff opens a topic in the agents' group, agents
act there with buttons and commands, and everything they do goes through HandoffService,
so what the web console reads (``handoff.ticket``, ``tickets_of``) shows it too.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.auth.users import new_user
from bot.brain import Brain
from bot.services import Services
from bot.storage import MemoryConversationStore
from bot.telegram import FloodLimits, TelegramChannel
from bot.telegram.dedupe import MemoryUpdateDedupe
from bot.telegram.topics import RedisTopicStore
from bot.turn import Incoming
from config import Settings, load_settings
from handoff import Ticket
from scripts_zh.renderer import render
from tests.conftest import ALWAYS_OPEN, redis_client
from tests.fake_telegram import BOT_ID, FakeTelegram
from tests.telegram.conftest import running

GROUP = -1001234567890
AMY = 424242  # linked to the kefu account amy (小美)
BEN = 535353  # a member without an account: acts as tg:535353
SIZE = re.compile(r"(?<![A-Za-z])(XS|S|M|L|XL|XXL|[2-4]XL)(?![A-Za-z])")


@pytest.fixture
def agent_settings(tmp_path: Path) -> Settings:
    import json

    return load_settings(shop_name="测试小铺", data_dir=tmp_path / "data",
                         hours=json.loads(ALWAYS_OPEN), telegram_agent_chat=GROUP)


@pytest.fixture
def desk_services(agent_settings: Settings, brain: Brain) -> Iterator[Services]:
    yield Services.build(agent_settings, store=MemoryConversationStore(), brain=brain)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        fake.forum(GROUP)
        yield fake


def amy(tg: FakeTelegram) -> dict[str, Any]:
    return tg.user(AMY, "Amy", "Wang")


def ben(tg: FakeTelegram) -> dict[str, Any]:
    return tg.user(BEN, "Ben")


async def link_amy(services: Services) -> None:
    await services.users.put(new_user("amy", "agent", "password123", "小美", telegram_id=AMY))


def text_of(services: Services, key: str, index: int = 0) -> str:
    return services.brains.current.library.system[key][index]


@asynccontextmanager
async def desk(services: Services, tg: FakeTelegram, **options: Any
               ) -> AsyncIterator[TelegramChannel]:
    """A running channel with its agents' desk, and the handoff bridge (which the web app
    runs in ``kefu serve``) delivering agents' messages to shoppers."""
    bridge = asyncio.create_task(services.bridge.run())
    await asyncio.sleep(0.05)  # subscribed before anything is published
    try:
        async with running(services, tg, **options) as channel:
            assert channel.desk is not None
            await asyncio.wait_for(channel.desk.ready.wait(), 5)
            yield channel
    finally:
        bridge.cancel()
        await asyncio.gather(bridge, return_exceptions=True)


def in_topic(tg: FakeTelegram, thread: int) -> list[str]:
    """Texts the bot posted into a topic (sendMessage), oldest first."""
    return [m.get("text", "") for m in tg.sent(GROUP) if m.get("message_thread_id") == thread]


def topic_text(tg: FakeTelegram, thread: int) -> str:
    """Everything posted into a topic after the card, as one text (lines that waited for
    the group's flood limit together are posted as one message)."""
    return "\n".join(in_topic(tg, thread)[1:])


def say_in_topic(tg: FakeTelegram, thread: int, text: str, user: dict[str, Any]
                 ) -> dict[str, Any]:
    return tg.text(GROUP, text, user=user, message_thread_id=thread, is_topic_message=True)


def photo_in_topic(tg: FakeTelegram, thread: int, user: dict[str, Any],
                   caption: str | None = None) -> dict[str, Any]:
    """An agent's photo in a topic (the fake's ``media`` has no topic argument)."""
    message_id = 9000 + tg.next_update_id() % 1000
    message: dict[str, Any] = {
        "message_id": message_id, "from": user, "chat": tg.chat(GROUP), "date": 1,
        "message_thread_id": thread, "is_topic_message": True,
        "photo": [{"file_id": "agent-photo-s", "file_unique_id": "aps", "width": 90,
                   "height": 90},
                  {"file_id": "agent-photo-big", "file_unique_id": "apb", "width": 1280,
                   "height": 1280}]}
    if caption:
        message["caption"] = caption
    tg.messages[(GROUP, message_id)] = message
    update = {"update_id": tg.next_update_id(), "message": message}
    tg.push(update)
    return update


async def topic_for(services: Services, tg: FakeTelegram, channel: TelegramChannel,
                    conversation: str, within: float = 10.0) -> tuple[Ticket, int]:
    """Wait for the conversation's ticket and its topic with the card in it."""
    desk = channel.desk
    assert desk is not None
    found: dict[str, Any] = {}

    async def check() -> bool:
        ticket = await services.handoff.open_ticket_of(conversation)
        if ticket is None:
            return False
        thread = await desk.topics.topic_of(ticket.id)
        if thread is None or not in_topic(tg, thread):
            return False
        found.update(ticket=ticket, thread=thread)
        return True

    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no topic for {conversation}")
        await asyncio.sleep(0.05)
    return found["ticket"], found["thread"]


async def eventually(predicate: Any, within: float = 10.0) -> None:
    """Wait for an async or plain predicate."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def hand_off(tg: FakeTelegram, chat: int, *lines: str) -> None:
    """A shopper says ``lines`` one at a time (each answered), then 转人工."""
    tg.text(chat, "/start")
    await tg.wait_texts(chat, 1)
    for line in (*lines, "转人工"):
        before = len(tg.texts(chat))
        tg.text(chat, line)
        await tg.wait_texts(chat, before + 1)
    await asyncio.sleep(0.1)


# -- the story --------------------------------------------------------------------------------


async def test_story_start_sizing_handoff_agent_reply_photo_close_rating(
        desk_services: Services, tg: FakeTelegram) -> None:
    services = desk_services
    await link_amy(services)
    async with desk(services, tg) as channel:
        tg.text(1001, "/start")
        assert "测试小铺" in (await tg.wait_texts(1001, 1))[0]
        for line in ["这件卫衣什么码合适", "我170", "65公斤", "喜欢宽松点"]:
            before = len(tg.texts(1001))
            tg.text(1001, line)
            await tg.wait_texts(1001, before + 1)
            await asyncio.sleep(0.1)  # a shopper reads the answer before typing again
        assert SIZE.search(tg.texts(1001)[-1]), tg.texts(1001)[-1]
        tg.text(1001, "转人工")
        ticket, thread = await topic_for(services, tg, channel, "telegram:1001")

        # The topic: named after the shopper and the topic, the card with context and buttons.
        topic = tg.topics[GROUP][thread]
        assert topic["name"].startswith("小明 · ") and len(topic["name"]) <= 128
        card = tg.sent(GROUP)[0]
        assert card["message_thread_id"] == thread
        assert "170" in card["text"] and "我170" in card["text"] and ticket.id in card["text"]
        assert ticket.summary in card["text"]
        buttons = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
        take = text_of(services, "tg_button_take")
        assert buttons == [take, text_of(services, "tg_button_back"),
                           text_of(services, "tg_button_close"),
                           text_of(services, "tg_button_transfer")]

        # amy presses Take: the shopper hears an agent joined, the console sees it taken.
        shopper_before = len(tg.texts(1001))
        tg.press(GROUP, take, user=amy(tg))
        texts = await tg.wait_texts(1001, shopper_before + 1)
        assert "小美" in texts[-1]
        taken = await services.handoff.ticket(ticket.id)
        assert taken is not None and taken.status == "assigned" and taken.assigned_to == "amy"
        assert [t.id for t in await services.handoff.tickets_of("amy")] == [ticket.id]
        await tg.wait_until(lambda: any("小美" in t and "接待" in t
                                        for t in in_topic(tg, thread)))

        # amy writes in the topic: the shopper gets it, the topic does not repeat it.
        posted = len(in_topic(tg, thread))
        say_in_topic(tg, thread, "您好，建议您选L码，宽松一些", amy(tg))
        texts = await tg.wait_texts(1001, shopper_before + 2)
        assert texts[-1] == "小美: 您好，建议您选L码，宽松一些"

        # The shopper sends a photo: it appears in the topic as a photo.
        update = tg.media(1001, "photo", caption="是这个颜色吗")
        file_id = update["message"]["photo"][-1]["file_id"]
        await tg.wait_until(lambda: bool(tg.called("sendPhoto", GROUP)))
        photo = tg.called("sendPhoto", GROUP)[0]
        assert photo.ok and photo.params["photo"] == file_id
        assert photo.params["message_thread_id"] == thread
        assert "是这个颜色吗" in photo.params["caption"]

        # amy closes: the shopper is asked for a rating, the topic closes.
        say_in_topic(tg, thread, "/close", amy(tg))
        texts = await tg.wait_texts(1001, shopper_before + 3)
        rating = tg.sent(1001)[-1]
        assert [b["text"] for b in rating["reply_markup"]["inline_keyboard"][0]] == list("12345")
        await tg.wait_until(lambda: tg.topics[GROUP][thread]["closed"])

        # The shopper presses 5: recorded, and the topic says so (and stays closed).
        tg.press(1001, "5")
        await eventually(lambda: _rating(services, ticket.id))
        await tg.wait_until(lambda: any("5" in t and "⭐" in t for t in in_topic(tg, thread)))
        await tg.wait_until(lambda: tg.topics[GROUP][thread]["closed"])
        # amy's own line was typed in the topic: the bot never posts it a second time
        assert not any("建议您选L码" in t for t in in_topic(tg, thread)[posted:])
    final = await services.handoff.ticket(ticket.id)
    assert final is not None and final.rating == 5 and final.closed_by == "amy"
    assert [m.text for m in final.messages if m.role == "agent"] == ["您好，建议您选L码，宽松一些"]


async def _rating(services: Services, ticket_id: str) -> bool:
    ticket = await services.handoff.ticket(ticket_id)
    return ticket is not None and ticket.rating == 5


# -- handoffs from anywhere, the console and Telegram as one -----------------------------------


async def test_web_shopper_handoff_opens_a_topic_and_console_work_shows_there(
        desk_services: Services, tg: FakeTelegram) -> None:
    services = desk_services
    await link_amy(services)
    # Someone is online but has no free seat: the web shopper queues instead of being
    # asked to leave a message, so the console can take the ticket.
    await services.handoff.set_presence("zoe", "online", capacity=0)
    async with desk(services, tg) as channel:
        await services.engine.handle(Incoming(channel="web", chat_id="w-1", text="我要退货",
                                              display_name="网页顾客"))
        await services.engine.handle(Incoming(channel="web", chat_id="w-1", text="转人工",
                                              display_name="网页顾客"))
        ticket, thread = await topic_for(services, tg, channel, "web:w-1")
        assert tg.topics[GROUP][thread]["name"].startswith("网页顾客 · ")
        assert "网页" in in_topic(tg, thread)[0]

        # Taken and answered in the console: both show in the topic.
        assert await services.handoff.claim(ticket.id, "amy") is not None
        await services.handoff.agent_message(ticket.id, "amy", "您好，请发一下订单号")
        await services.engine.handle(Incoming(channel="web", chat_id="w-1",
                                              text="订单号是 123456789012"))
        await services.handoff.note(ticket.id, "amy", "老客户")
        await tg.wait_until(lambda: "老客户" in topic_text(tg, thread))
        body = topic_text(tg, thread)
        wanted = ["小美 已接待", "小美（工作台）：您好，请发一下订单号",
                  "网页顾客：订单号是 123456789012", "📝 小美 备注：老客户"]
        assert all(w in body for w in wanted), body
        assert [body.index(w) for w in wanted] == sorted(body.index(w) for w in wanted)

        # amy's photo in the topic reaches a web shopper as a text placeholder only.
        photo_in_topic(tg, thread, amy(tg), caption="实物图")
        await eventually(lambda: _agent_lines(services, ticket.id, 2))
        assert not tg.called("sendPhoto")
    final = await services.handoff.ticket(ticket.id)
    assert final is not None
    assert final.messages[-1].role == "agent" and "实物图" in final.messages[-1].text


async def taken_by_amy(services: Services, tg: FakeTelegram, channel: TelegramChannel,
                       chat: int) -> tuple[Ticket, int]:
    """A Telegram shopper asks to return something; amy takes the ticket in its topic."""
    await hand_off(tg, chat, "我要退货")
    ticket, thread = await topic_for(services, tg, channel, f"telegram:{chat}")
    say_in_topic(tg, thread, "/take", amy(tg))
    await eventually(lambda: _holder(services, ticket.id, "amy"))
    return ticket, thread


async def _agent_lines(services: Services, ticket_id: str, n: int) -> bool:
    ticket = await services.handoff.ticket(ticket_id)
    return ticket is not None and len([m for m in ticket.messages if m.role == "agent"]) >= n


async def test_agent_photo_reaches_a_telegram_shopper_as_a_photo(
        desk_services: Services, tg: FakeTelegram) -> None:
    services = desk_services
    await link_amy(services)
    async with desk(services, tg) as channel:
        ticket, thread = await taken_by_amy(services, tg, channel, 1002)
        before = len(tg.texts(1002))
        photo_in_topic(tg, thread, amy(tg), caption="这是实物图")
        await tg.wait_until(lambda: bool(tg.called("sendPhoto", 1002)))
        sent = tg.called("sendPhoto", 1002)[0]
        assert sent.ok and sent.params["photo"] == "agent-photo-big"
        assert sent.params["caption"] == "这是实物图"
        # The ticket records the photo; the shopper, who has it already, gets no
        # "[图片]" line after it: the agent's next line is the next text they see.
        await eventually(lambda: _agent_lines(services, ticket.id, 1))
        ticket_now = await services.handoff.ticket(ticket.id)
        assert ticket_now is not None and ticket_now.messages[-1].text == "[图片] 这是实物图"
        say_in_topic(tg, thread, "还有别的问题吗", amy(tg))
        texts = await tg.wait_texts(1002, before + 1)
        assert texts[before:] == ["小美: 还有别的问题吗"]


async def _holder(services: Services, ticket_id: str, agent: str | None) -> bool:
    ticket = await services.handoff.ticket(ticket_id)
    return ticket is not None and ticket.assigned_to == agent and (
        agent is None or ticket.status == "assigned")


async def test_unlinked_member_acts_under_their_telegram_name(
        desk_services: Services, tg: FakeTelegram) -> None:
    services = desk_services
    async with desk(services, tg) as channel:
        await hand_off(tg, 1003, "发货了吗")
        ticket, thread = await topic_for(services, tg, channel, "telegram:1003")
        before = len(tg.texts(1003))
        say_in_topic(tg, thread, "/take", ben(tg))
        texts = await tg.wait_texts(1003, before + 1)
        assert "Ben" in texts[-1]
        taken = await services.handoff.ticket(ticket.id)
        assert taken is not None and taken.assigned_to == f"tg:{BEN}"
        account = await services.users.get(f"tg:{BEN}")
        assert account is not None and account.display_name == "Ben"
        say_in_topic(tg, thread, "马上帮您查", ben(tg))
        assert (await tg.wait_texts(1003, before + 2))[-1] == "Ben: 马上帮您查"
    from bot.auth.users import check_password

    assert not check_password(account, "")  # the placeholder can never log in


async def test_a_member_who_does_not_hold_the_ticket_gets_a_hint(
        desk_services: Services, tg: FakeTelegram) -> None:
    services = desk_services
    await link_amy(services)
    async with desk(services, tg) as channel:
        await hand_off(tg, 1004, "我要退货")
        ticket, thread = await topic_for(services, tg, channel, "telegram:1004")
        shopper_before = len(tg.texts(1004))
        say_in_topic(tg, thread, "你好", ben(tg))  # nobody holds it yet
        await tg.wait_until(lambda: any("/take" in t for t in in_topic(tg, thread)[1:]))
        say_in_topic(tg, thread, "/take", amy(tg))
        await eventually(lambda: _holder(services, ticket.id, "amy"))
        say_in_topic(tg, thread, "我来回复", ben(tg))  # hinted once already: quiet now
        # Commands that are not ours (or for another bot) never reach the shopper.
        say_in_topic(tg, thread, "/refund 100", amy(tg))
        say_in_topic(tg, thread, "/take@other_bot", amy(tg))
        say_in_topic(tg, thread, "/close", ben(tg))  # a command gets its own answer
        await tg.wait_until(lambda: any("不是您接待的" in t for t in in_topic(tg, thread)))
        await asyncio.sleep(0.3)
        assert len(tg.texts(1004)) == shopper_before + 1  # just "an agent joined"
    still = await services.handoff.ticket(ticket.id)
    assert still is not None and still.status == "assigned" and not still.messages


async def test_note_stays_in_the_group_and_transfer_moves_the_ticket(
        desk_services: Services, tg: FakeTelegram) -> None:
    services = desk_services
    await link_amy(services)
    async with desk(services, tg) as channel:
        ticket, thread = await taken_by_amy(services, tg, channel, 1005)
        shopper_before = len(tg.texts(1005))
        posted = len(in_topic(tg, thread))
        say_in_topic(tg, thread, "/note 老客户，上次也退过", amy(tg))
        say_in_topic(tg, thread, "/note", amy(tg))
        await tg.wait_until(lambda: any("/note" in t for t in in_topic(tg, thread)[posted:]))
        noted = await services.handoff.ticket(ticket.id)
        assert noted is not None and [n.text for n in noted.notes] == ["老客户，上次也退过"]
        assert noted.notes[0].author == "amy"

        # /transfer with no target: the choices; pressing 售前组 queues it there.
        say_in_topic(tg, thread, "/transfer", amy(tg))
        presale = text_of(services, "tg_button_presale")
        await tg.wait_until(lambda: any(
            b.get("text") == presale for m in tg.sent(GROUP)
            for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for b in row))
        tg.press(GROUP, presale, user=amy(tg))
        await eventually(lambda: _skill(services, ticket.id, "presale"))
        await tg.wait_until(lambda: any("↪️" in t for t in in_topic(tg, thread)))

        # amy takes it back, then tries an offline agent: told why, nothing moves.
        say_in_topic(tg, thread, "/take", amy(tg))
        await eventually(lambda: _holder(services, ticket.id, "amy"))
        say_in_topic(tg, thread, "/transfer @nobody", amy(tg))
        say_in_topic(tg, thread, "/transfer after_sales", amy(tg))
        await eventually(lambda: _skill(services, ticket.id, "after_sales"))
        await asyncio.sleep(0.2)
        assert any("nobody" in t for t in in_topic(tg, thread))
        assert not any("老客户" in t for t in tg.texts(1005)[shopper_before:])
        # the note was typed in the topic: not posted a second time
        assert [t for t in in_topic(tg, thread) if "老客户" in t] == []


async def _skill(services: Services, ticket_id: str, skill: str) -> bool:
    ticket = await services.handoff.ticket(ticket_id)
    return ticket is not None and ticket.skill == skill and ticket.status == "queued"


async def test_presence_is_shared_with_the_console(desk_services: Services,
                                                   tg: FakeTelegram) -> None:
    services = desk_services
    await link_amy(services)
    async with desk(services, tg) as channel:
        tg.text(GROUP, "/online 3", user=amy(tg))  # in the General topic
        await tg.wait_until(lambda: any("小美" in t and "3" in t for t in tg.texts(GROUP)))
        profile = await services.handoff.agent("amy")
        assert profile is not None and profile.presence == "online" and profile.capacity == 3
        # A new handoff now goes to amy at once, and the topic says so.
        await hand_off(tg, 1006, "我要退货")
        ticket = await services.handoff.open_ticket_of("telegram:1006")
        assert ticket is not None and ticket.assigned_to == "amy"
        _, thread = await topic_for(services, tg, channel, "telegram:1006")
        await tg.wait_until(lambda: any("小美" in t for t in in_topic(tg, thread)))
        # The heartbeat keeps Telegram agents online past the presence TTL.
        assert channel.desk is not None
        await channel.desk.renew_presence()
        assert "amy" in await channel.desk.topics.agents()
        tg.text(GROUP, "/away", user=amy(tg))
        await eventually(lambda: _presence(services, "amy", "away"))
        tg.text(GROUP, "/offline", user=amy(tg))
        await eventually(lambda: _presence(services, "amy", "offline"))
        tg.text(GROUP, "/take", user=amy(tg))  # not in a ticket's topic
        tg.text(GROUP, "/help", user=amy(tg))
        await tg.wait_until(lambda: any("/online" in t for t in tg.texts(GROUP)))
        assert any("话题" in t for t in tg.texts(GROUP))


async def _presence(services: Services, agent: str, presence: str) -> bool:
    profile = await services.handoff.agent(agent)
    return profile is not None and profile.presence == presence


async def test_hand_back_returns_the_shopper_to_the_bot(desk_services: Services,
                                                        tg: FakeTelegram) -> None:
    services = desk_services
    await link_amy(services)
    async with desk(services, tg) as channel:
        await hand_off(tg, 1007, "发货了吗")
        ticket, thread = await topic_for(services, tg, channel, "telegram:1007")
        tg.press(GROUP, text_of(services, "tg_button_take"), user=amy(tg))
        await eventually(lambda: _holder(services, ticket.id, "amy"))
        before = len(tg.texts(1007))
        tg.press(GROUP, text_of(services, "tg_button_back"), user=amy(tg))
        texts = await tg.wait_texts(1007, before + 1)
        assert texts[-1] == text_of(services, "back_to_bot") or "智能助手" in texts[-1]
        await tg.wait_until(lambda: tg.topics[GROUP][thread]["closed"])
        state = await services.store.load("telegram:1007")
        assert state is not None and state.status == "bot"
        # Pressing Take again on the closed ticket: told, nothing happens.
        tg.press(GROUP, text_of(services, "tg_button_take"), user=amy(tg))
        await tg.wait_until(lambda: any(c.params.get("show_alert")
                                        for c in tg.called("answerCallbackQuery")))
    final = await services.handoff.ticket(ticket.id)
    assert final is not None and final.outcome == "handed_back"


# -- topics that went away ---------------------------------------------------------------------


async def test_a_deleted_topic_is_replaced_by_a_new_one(desk_services: Services,
                                                        tg: FakeTelegram) -> None:
    services = desk_services
    async with desk(services, tg) as channel:
        assert channel.desk is not None
        await hand_off(tg, 1008, "我要退货")
        ticket, thread = await topic_for(services, tg, channel, "telegram:1008")
        del tg.topics[GROUP][thread]  # an admin deleted the topic
        tg.text(1008, "人呢？")
        await eventually(lambda: _topic_changed(channel, ticket.id, thread))
        fresh = await channel.desk.topics.topic_of(ticket.id)
        assert fresh is not None and fresh in tg.topics[GROUP]
        await tg.wait_until(lambda: len(in_topic(tg, fresh)) >= 2)
        card, line = in_topic(tg, fresh)[:2]
        assert ticket.id in card and "人呢？" in card  # the card has the live chat too
        assert "人呢？" in line
        assert await channel.desk.topics.ticket_of(thread) is None
        assert channel.desk.stats.topics_replaced == 1
        # A scripted "thread not found" (the API's word for it) does the same.
        tg.thread_not_found(GROUP)
        tg.text(1008, "还在吗")
        await eventually(lambda: _topic_changed(channel, ticket.id, fresh))
        newest = await channel.desk.topics.topic_of(ticket.id)
        assert newest is not None
        await tg.wait_until(lambda: any("还在吗" in t for t in in_topic(tg, newest)[1:]))


async def _topic_changed(channel: TelegramChannel, ticket_id: str, old: int) -> bool:
    assert channel.desk is not None
    current = await channel.desk.topics.topic_of(ticket_id)
    return current is not None and current != old


async def test_a_topic_closed_by_hand_is_reopened_while_the_ticket_is_open(
        desk_services: Services, tg: FakeTelegram) -> None:
    services = desk_services
    async with desk(services, tg) as channel:
        await hand_off(tg, 1009, "我要退货")
        _, thread = await topic_for(services, tg, channel, "telegram:1009")
        tg.topics[GROUP][thread]["closed"] = True
        tg.text(1009, "有人吗")
        await tg.wait_until(lambda: any("有人吗" in t for t in in_topic(tg, thread)))
        assert tg.called("reopenForumTopic", GROUP)
        assert not tg.topics[GROUP][thread]["closed"]


# -- who may act ---------------------------------------------------------------------------------


async def test_outsiders_get_nothing(desk_services: Services, tg: FakeTelegram) -> None:
    services = desk_services
    await link_amy(services)
    async with desk(services, tg) as channel:
        await hand_off(tg, 1010, "我要退货")
        ticket, thread = await topic_for(services, tg, channel, "telegram:1010")
        posted = len(tg.sent(GROUP))
        # amy's account, but written in another group: ignored.
        tg.text(-100777, "/take", user=amy(tg))
        tg.text(-100777, "/online", user=amy(tg))
        # Someone Telegram says has left the agents' group: ignored there too.
        tg.members[(GROUP, 999)] = {"status": "left", "user": tg.user(999, "路人")}
        say_in_topic(tg, thread, "/take", tg.user(999, "路人"))
        say_in_topic(tg, thread, "我是客服", tg.user(999, "路人"))
        tg.press(GROUP, text_of(services, "tg_button_take"), user=tg.user(999, "路人"))
        # A shopper who types /take to the bot is just a shopper.
        shopper_before = len(tg.texts(1011))
        tg.text(1011, "/take")
        await tg.wait_texts(1011, shopper_before + 2)
        await asyncio.sleep(0.5)
        assert len(tg.sent(GROUP)) == posted
        assert tg.texts(-100777) == []
        assert channel.desk is not None and channel.desk.stats.refused >= 3
    still = await services.handoff.ticket(ticket.id)
    assert still is not None and still.status == "queued" and not still.messages
    assert await services.handoff.agent("amy") is None
    assert [c for c in tg.called("getChatMember") if c.params.get("user_id") == 999]


async def test_malformed_callbacks_and_updates_are_ignored(
        desk_services: Services, tg: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    services = desk_services
    await link_amy(services)
    caplog.set_level(logging.INFO, logger="bot.telegram")
    async with desk(services, tg) as channel:
        await hand_off(tg, 1012, "我要退货")
        ticket, thread = await topic_for(services, tg, channel, "telegram:1012")
        card = tg.sent(GROUP)[0]
        for data in ["tk:take", "tk:nope:" + ticket.id, "garbage", "tk:take:../../x",
                     "tk:to:" + ticket.id, "tk:take:unknown0000", "", "say:接待"]:
            tg.push({"update_id": tg.next_update_id(), "callback_query": {
                "id": str(tg.next_update_id()), "from": amy(tg), "message": card,
                "chat_instance": "ci", **({"data": data} if data else {})}})
        tg.push({"update_id": tg.next_update_id(), "callback_query": {"id": "x"}},
                {"update_id": tg.next_update_id(), "message": {
                    "message_id": 1, "date": 1, "chat": tg.chat(GROUP),
                    "message_thread_id": "not a number", "text": "/take"}},
                {"update_id": tg.next_update_id(), "message": {
                    "message_id": 2, "date": 1, "chat": tg.chat(GROUP), "from": amy(tg),
                    "message_thread_id": thread, "is_topic_message": True,
                    "pinned_message": {"message_id": 1, "date": 0, "chat": tg.chat(GROUP)}}})
        await tg.wait_until(lambda: len(tg.called("answerCallbackQuery")) >= 8)
        # Still working afterwards.
        say_in_topic(tg, thread, "/take", amy(tg))
        await eventually(lambda: _holder(services, ticket.id, "amy"))
        assert channel.intake.malformed >= 2
    answers = tg.called("answerCallbackQuery")
    assert all(c.ok for c in answers)
    unknown = [c for c in answers if c.params.get("show_alert")]
    assert len(unknown) == 1  # tk:take:unknown0000 is well formed: told it went wrong


# -- API errors ----------------------------------------------------------------------------------


async def test_blocked_shopper_while_relaying_is_logged_not_fatal(
        desk_services: Services, tg: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    services = desk_services
    await link_amy(services)
    caplog.set_level(logging.WARNING, logger="bot.telegram")
    async with desk(services, tg) as channel:
        ticket, thread = await taken_by_amy(services, tg, channel, 1013)
        tg.block(1013)
        say_in_topic(tg, thread, "您好？", amy(tg))
        photo_in_topic(tg, thread, amy(tg))
        await tg.wait_until(lambda: any(c.status == 403 for c in tg.called("sendPhoto", 1013)))
        await tg.wait_until(lambda: any(c.status == 403 for c in tg.called("sendMessage", 1013)))
        say_in_topic(tg, thread, "/close", amy(tg))
        await tg.wait_until(lambda: tg.topics[GROUP][thread]["closed"])
        assert channel.sender.stats.dropped_forbidden >= 2  # the line and the photo
    assert "bot was blocked by the user" in caplog.text
    final = await services.handoff.ticket(ticket.id)
    assert final is not None and final.status == "closed" and len(final.messages) == 2


async def test_429_on_create_forum_topic_is_retried(desk_services: Services,
                                                    tg: FakeTelegram) -> None:
    services = desk_services
    tg.flood(retry_after=1, method="createForumTopic", chat_id=GROUP)
    async with desk(services, tg) as channel:
        await hand_off(tg, 1014, "我要退货")
        _, thread = await topic_for(services, tg, channel, "telegram:1014", within=15)
        creates = tg.called("createForumTopic")
        assert [c.status for c in creates] == [429, 200]
        assert creates[1].at - creates[0].at >= 0.95
        assert channel.sender.stats.retried_after_429 == 1
        assert len(tg.topics[GROUP]) == 1 and thread in tg.topics[GROUP]


async def test_lines_waiting_for_the_group_limit_go_as_one_post(
        desk_services: Services, tg: FakeTelegram) -> None:
    """The group takes 20 posts a minute: lines that queue up behind it are merged, in
    order, instead of each waiting for a post of its own."""
    services = desk_services
    slow_group = FloodLimits(private=(1000, 1.0), group=(2, 1.5), overall=(1000, 1.0))
    async with desk(services, tg, limits=slow_group) as channel:
        await hand_off(tg, 1018, "我要退货")
        _, thread = await topic_for(services, tg, channel, "telegram:1018")
        lines = [f"补充第{i}点" for i in range(8)]
        for line in lines:
            tg.text(1018, line)
        await tg.wait_until(lambda: "补充第7点" in topic_text(tg, thread), within=20)
    body = topic_text(tg, thread)
    assert [body.index(line) for line in lines] == sorted(body.index(line) for line in lines)
    posts = [t for t in in_topic(tg, thread) if "补充" in t]
    assert len(posts) < len(lines)
    assert not [c for c in tg.calls if c.status == 429]


async def test_group_errors_never_stop_the_shoppers(desk_services: Services,
                                                    tg: FakeTelegram) -> None:
    """A group the bot cannot post to (not a forum, kicked): topics fail, shoppers go on."""
    services = desk_services
    del tg.forums[GROUP]
    async with desk(services, tg) as channel:
        await hand_off(tg, 1015, "我要退货")
        tg.text(1015, "还要等多久")
        await asyncio.sleep(0.5)
        assert channel.desk is not None and channel.desk.stats.topics_opened == 0
        tg.text(1016, "你好")
        await tg.wait_texts(1016, 2)
    assert await services.handoff.open_ticket_of("telegram:1015") is not None


# -- several bot processes -------------------------------------------------------------------------


async def test_two_processes_open_one_topic_and_post_each_event_once(
        agent_settings: Settings, brain: Brain, tg: FakeTelegram, redis_prefix: str) -> None:
    """Two channels (as two ``kefu serve``) on one conversation store and handoff service:
    each event is posted by one of them, into the one topic, which both find via Redis."""
    services = Services.build(agent_settings, store=MemoryConversationStore(), brain=brain)
    await link_amy(services)
    dedupe = MemoryUpdateDedupe()
    async with redis_client(redis_prefix) as client, \
            desk(services, tg, dedupe=dedupe) as one, desk(services, tg, dedupe=dedupe) as two:
        for channel in (one, two):
            assert channel.desk is not None
            await channel.desk.topics.close()
            channel.desk.topics = RedisTopicStore(client, GROUP, prefix=redis_prefix)
        await hand_off(tg, 1017, "我要退货")
        ticket, thread = await topic_for(services, tg, one, "telegram:1017")
        for i in range(5):
            tg.text(1017, f"第{i}句")
        await tg.wait_until(lambda: "第4句" in topic_text(tg, thread))
        tg.press(GROUP, text_of(services, "tg_button_take"), user=amy(tg))
        await eventually(lambda: _holder(services, ticket.id, "amy"))
        say_in_topic(tg, thread, "您好", amy(tg))
        await tg.wait_until(lambda: any(t.endswith("您好") for t in tg.texts(1017)))
        await asyncio.sleep(0.5)
    assert len(tg.called("createForumTopic")) == 1
    body = topic_text(tg, thread)
    assert [body.count(f"第{i}句") for i in range(5)] == [1] * 5
    assert [body.index(f"第{i}句") for i in range(5)] == sorted(body.index(f"第{i}句")
                                                              for i in range(5))
    assert body.count("小美 已接待") == 1
    assert "您好" not in body.replace("您好，", "")  # amy's own line is not echoed
    assert all(m["from"]["id"] == BOT_ID for m in tg.sent(GROUP))


async def test_a_photo_telegram_refuses_reaches_the_shopper_as_a_line(
        desk_services: Services, tg: FakeTelegram) -> None:
    """Nothing is lost when Telegram rejects an agent's photo to the shopper: the shopper
    gets the media line with its caption instead, headed by the agent's name."""
    services = desk_services
    await link_amy(services)
    async with desk(services, tg) as channel:
        ticket, thread = await taken_by_amy(services, tg, channel, 1002)
        before = len(tg.texts(1002))
        tg.fail("sendPhoto", 400, "Bad Request: wrong file identifier/HTTP URL specified",
                chat_id=1002)
        photo_in_topic(tg, thread, amy(tg), caption="这是实物图")
        texts = await tg.wait_texts(1002, before + 1)
        assert not tg.called("sendPhoto", 1002)[0].ok
        line = texts[before]
        assert line.startswith("小美: ") and "这是实物图" in line
        assert line.removeprefix("小美: ") == render(
            services.brains.current.library.system["tg_agent_photo_failed"][0],
            {"text": "这是实物图"})
        ticket_now = await services.handoff.ticket(ticket.id)
        assert ticket_now is not None and ticket_now.messages[-1].text == "[图片] 这是实物图"
