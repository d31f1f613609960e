"""Handoff end to end in one process: engine ↔ bridge ↔ HandoffService ↔ a channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest

from bot.auth.users import new_user
from bot.services import Services
from bot.turn import Incoming, Reply, Turn
from handoff import Event


@dataclass
class RecordingOutbox:
    """A channel that keeps what it was asked to deliver."""

    sent: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def deliver(self, chat_id: str, replies: Sequence[Reply], *, sender: str = "bot",
                      agent_name: str | None = None, status: str | None = None) -> bool:
        for reply in replies:
            self.sent.append((chat_id, sender, reply.text, agent_name))
        if status:
            self.statuses.append(status)
        self.arrived.set()
        return True

    async def wait_for(self, texts: Sequence[str]) -> tuple[str, str, str, str | None]:
        """The first delivery whose text is one of ``texts`` (waits up to 5 s)."""
        async with asyncio.timeout(5):
            while True:
                for item in self.sent:
                    if item[2] in texts:
                        return item
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def live(services: Services) -> AsyncIterator[tuple[Services, RecordingOutbox]]:
    outbox = RecordingOutbox()
    services.channels.register("test", outbox, everywhere=True)
    await services.users.put(new_user("amy", "agent", "correct horse", "小美"))
    task = asyncio.create_task(services.bridge.run())
    await asyncio.sleep(0.05)
    yield services, outbox
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def say(services: Services, text: str, chat: str = "s1") -> Turn:
    return await services.engine.handle(Incoming("test", chat, text, display_name="王女士"))


def texts(services: Services, key: str) -> list[str]:
    return services.brains.current.library.system[key]


async def test_no_agent_online_offers_to_take_a_message(live: tuple[Services, RecordingOutbox]
                                                        ) -> None:
    services, _ = live
    turn = await say(services, "转人工")
    assert turn.status == "waiting"
    assert turn.replies[-1].text in texts(services, "handoff_no_agent")
    ack = await say(services, "我的电话13812345678 下午回电")
    assert ack.replies[0].text in texts(services, "leave_message_ack")
    ticket = await services.handoff.open_ticket_of("test:s1")
    assert ticket is not None and ticket.status == "queued"
    assert ticket.left_message and ticket.contact == "13812345678"
    assert ticket.reason == "asked_for_human" and ticket.shopper_name == "王女士"


async def test_full_story_with_an_agent(live: tuple[Services, RecordingOutbox]) -> None:
    services, outbox = live
    await services.handoff.set_presence("amy", "online")
    await say(services, "我要退货")
    # The order number goes to a person: the bot cannot act on it itself.
    turn = await say(services, "订单号 2345678901234567")
    assert turn.status == "agent"
    assert "小美" in turn.replies[-1].text
    ticket = await services.handoff.open_ticket_of("test:s1")
    assert ticket is not None and ticket.assigned_to == "amy" and ticket.skill == "after_sales"
    assert ticket.context.slots["order_id"] == "2345678901234567"
    assert "4567" in ticket.summary and "2345678901234567" not in ticket.summary
    assert [t["intent"] for t in ticket.context.turns][:2] == ["refund", "refund"]

    silent = await say(services, "快点帮我处理")
    assert silent.replies == [] and silent.status == "agent"
    ticket = await services.handoff.ticket(ticket.id)
    assert ticket is not None and ticket.messages[-1].text == "快点帮我处理"

    await services.handoff.agent_message(ticket.id, "amy", "您好，已经为您登记退货")
    delivered = await outbox.wait_for(["您好，已经为您登记退货"])
    assert delivered == ("s1", "agent", "您好，已经为您登记退货", "小美")

    await services.handoff.close(ticket.id, "amy")
    await outbox.wait_for(texts(services, "rating_ask"))
    assert outbox.statuses[-1] == "closed"
    state = await services.store.load("test:s1")
    assert state is not None and state.status == "closed"

    rated = await say(services, "5")
    assert rated.replies[0].text in texts(services, "rating_thanks")
    ticket = await services.handoff.ticket(ticket.id)
    assert ticket is not None and ticket.rating == 5
    agent = await services.handoff.agent("amy")
    assert agent is not None and agent.average_rating == 5.0

    again = await say(services, "你好")
    assert again.status == "bot" and again.intent == "greeting"
    transcript = await services.store.transcript("test:s1")
    assert any(e.role == "agent" and e.author == "amy" for e in transcript)


async def test_hand_back_returns_the_chat_to_the_bot(live: tuple[Services, RecordingOutbox]
                                                      ) -> None:
    services, outbox = live
    await services.handoff.set_presence("amy", "online")
    await say(services, "人工客服")
    ticket = await services.handoff.open_ticket_of("test:s1")
    assert ticket is not None
    await services.handoff.hand_back(ticket.id, "amy")
    await outbox.wait_for(texts(services, "back_to_bot"))
    turn = await say(services, "这件是纯棉的吗")
    assert turn.status == "bot" and turn.intent == "presale" and turn.replies


async def test_waiting_shoppers_hear_their_place(live: tuple[Services, RecordingOutbox]) -> None:
    services, _ = live
    await services.handoff.set_presence("amy", "online", capacity=1)
    await say(services, "转人工", "first")
    second = await say(services, "转人工", "second")
    assert second.status == "waiting"
    assert any(r.text.startswith(t.split("{")[0][:3]) for r in second.replies
               for t in texts(services, "handoff_queued"))
    assert "1" in second.replies[-1].text


async def test_angry_complaint_jumps_the_queue(live: tuple[Services, RecordingOutbox]) -> None:
    services, _ = live
    turn = await say(services, "你们就是骗子！！！卖假货，我要去12315投诉你们", "angry")
    assert turn.status == "waiting"
    ticket = await services.handoff.open_ticket_of("test:angry")
    assert ticket is not None and ticket.priority == 0 and ticket.reason == "angry_complaint"
    assert "情绪激动" in ticket.summary
    assert ticket.context.anger >= 0.6


async def test_nobody_takes_it_in_time(live: tuple[Services, RecordingOutbox]) -> None:
    services, outbox = live
    await services.handoff.set_presence("amy", "online", capacity=1)
    await say(services, "转人工", "a")
    await say(services, "转人工", "late")
    ticket = await services.handoff.open_ticket_of("test:late")
    assert ticket is not None and ticket.status == "queued"
    services.bridge.clock = lambda: ticket.created_at + services.settings.handoff_timeout + 1
    await services.bridge.sweep()
    await services.bridge.sweep()
    offers = [s for s in outbox.sent if s[0] == "late" and s[2] in texts(services,
                                                                        "handoff_no_agent")]
    assert len(offers) == 1


async def test_manager_keywords_hand_off(live: tuple[Services, RecordingOutbox]) -> None:
    services, _ = live
    turn = await say(services, "这个问题我要找律师", "kw")
    assert turn.status == "waiting"
    ticket = await services.handoff.open_ticket_of("test:kw")
    assert ticket is not None and ticket.reason == "keyword"


async def test_rules_can_be_switched_off(live: tuple[Services, RecordingOutbox]) -> None:
    services, _ = live
    services.settings.handoff_on_anger = False
    turn = await say(services, "你们就是骗子！！！垃圾店", "calm")
    assert turn.intent == "complaint" and turn.status == "bot"


async def test_events_for_agents_screens_leave_the_conversation_alone(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """A waiting shopper's own line comes back as an event; locking their conversation for
    it would only make their next line wait."""
    await say(services, "转人工")
    before = await services.store.load("test:s1")
    touched: list[str] = []
    monkeypatch.setattr(services.store, "lock", lambda key: touched.append(key))
    monkeypatch.setattr(services.store, "once", lambda *a: touched.append("once"))
    for kind in ("ticket_opened", "shopper_message", "note_added", "rated", "left_message"):
        await services.bridge.on_event(Event(kind=kind, ticket_id="t1", conversation="test:s1"))
    assert touched == []
    assert await services.store.load("test:s1") == before
