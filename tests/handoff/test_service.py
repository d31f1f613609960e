"""HandoffService end to end on both stores: the rules the bot, console and Telegram rely on."""

from __future__ import annotations

import asyncio

import pytest

from handoff import (
    AgentUnavailable,
    AlreadyRated,
    AtCapacity,
    BadRating,
    ContextPacket,
    Event,
    HandoffService,
    HandoffStore,
    InvalidRequest,
    NotAssigned,
    NotYourTicket,
    Subscription,
    TicketClosed,
    UnknownAgent,
    UnknownTicket,
)
from tests.handoff.conftest import T0, FakeClock, open_ticket


async def take(events: Subscription, count: int) -> list[Event]:
    """The next ``count`` events (fails after 5 s instead of hanging)."""
    async with asyncio.timeout(5):
        return [await anext(events) for _ in range(count)]


async def kinds_until(events: Subscription, store: HandoffStore) -> list[str]:
    """Kinds of every event already published: a marker closes the batch."""
    await store.publish(Event(kind="presence", agent="__marker__"))
    seen: list[str] = []
    async with asyncio.timeout(5):
        async for event in events:
            if event.agent == "__marker__":
                return seen
            seen.append(event.kind)
    return seen


# -- opening -------------------------------------------------------------------------------


async def test_open_queues_with_context_and_is_idempotent(service: HandoffService,
                                                          store: HandoffStore) -> None:
    async with service.events() as events:
        ticket = await open_ticket(service, summary="refund for order 123456")
        assert ticket.status == "queued" and ticket.created_at == T0
        assert ticket.context.slots == {"order_id": "123456"}
        assert ticket.context.transcript[0]["confidence"] == 0.91
        assert ticket.context.summary == "refund for order 123456"
        assert ticket.context.reason == "asked_for_human"
        again = await open_ticket(service)
        assert again.id == ticket.id
        opened = await take(events, 1)
        assert opened[0].kind == "ticket_opened" and opened[0].ticket_id == ticket.id
        assert opened[0].conversation == "web:abc123"
        assert await kinds_until(events, store) == []
    assert await service.ticket(ticket.id) == ticket
    assert await service.open_ticket_of("web:abc123") == ticket
    assert await service.ticket("nope") is None
    assert await service.open_ticket_of("web:nobody") is None


async def test_open_accepts_a_context_packet_and_checks_skill(service: HandoffService) -> None:
    packet = ContextPacket(summary="own", attachments=["photo-1"])
    ticket = await service.open(conversation="tg:1", channel="telegram", shopper_name="Li",
                                reason="angry_complaint", intent="complaint", skill="presale",
                                priority=0, summary="given", context=packet)
    assert ticket.context.summary == "own" and ticket.context.attachments == ["photo-1"]
    with pytest.raises(InvalidRequest):
        await open_ticket(service, "web:x", skill="warehouse")


async def test_open_after_close_starts_a_new_ticket(service: HandoffService) -> None:
    await service.set_presence("alice", "online")
    first = await open_ticket(service)
    await service.close(first.id, "alice")
    second = await open_ticket(service)
    assert second.id != first.id and second.status == "assigned"


async def test_open_auto_assigns_to_an_online_agent(service: HandoffService,
                                                    store: HandoffStore) -> None:
    await service.set_presence("alice", "online")
    async with service.events() as events:
        ticket = await open_ticket(service)
        assert ticket.status == "assigned" and ticket.assigned_to == "alice"
        assert ticket.assigned_at == T0
        got = await take(events, 2)
    assert [e.kind for e in got] == ["ticket_opened", "ticket_assigned"]
    assert got[1].agent == "alice" and got[1].data["auto"] is True
    assert [t.id for t in await service.tickets_of("alice")] == [ticket.id]


# -- the queue -----------------------------------------------------------------------------


async def test_queue_puts_complaints_first_then_longest_waiting(service: HandoffService,
                                                                clock: FakeClock) -> None:
    early = await open_ticket(service, "web:early")
    clock.advance(10)
    angry = await open_ticket(service, "web:angry", priority=0, reason="angry_complaint")
    clock.advance(10)
    late = await open_ticket(service, "web:late")
    clock.advance(10)
    presale = await open_ticket(service, "web:ask", skill="presale")
    assert [t.id for t in await service.queue()] == [angry.id, early.id, late.id, presale.id]
    assert [t.id for t in await service.queue("after_sales")] == [angry.id, early.id, late.id]
    assert [t.id for t in await service.queue("presale")] == [presale.id]
    assert (await service.position(late.id))[0] == 3
    assert (await service.position(presale.id))[0] == 1


async def test_position_and_estimated_wait(service: HandoffService, clock: FakeClock) -> None:
    tickets = []
    for i in range(3):
        tickets.append(await open_ticket(service, f"web:{i}"))
        clock.advance(1)
    assert await service.position(tickets[2].id) == (3, 9.0)  # 3 × 3 min ÷ 1
    for name in ("alice", "bob"):
        await service.set_presence(name, "online", capacity=0)
    assert await service.position(tickets[2].id) == (3, 4.5)  # ÷ 2 online agents
    await service.set_presence("bob", "online", capacity=1)
    assert (await service.ticket(tickets[0].id)).assigned_to == "bob"  # type: ignore[union-attr]
    clock.advance(60)
    await service.close(tickets[0].id, "bob")  # learned: 1 minute per ticket
    assert (await service.ticket(tickets[1].id)).assigned_to == "bob"  # type: ignore[union-attr]
    assert await service.position(tickets[2].id) == (1, 0.5)
    with pytest.raises(UnknownTicket):
        await service.position("nope")
    assert await service.position(tickets[0].id) == (0, 0.0)


async def test_handle_time_is_learned_as_a_moving_average(service: HandoffService,
                                                          store: HandoffStore,
                                                          clock: FakeClock) -> None:
    await service.set_presence("alice", "online")
    first = await open_ticket(service, "web:1")
    clock.advance(100)
    await service.close(first.id, "alice")
    second = await open_ticket(service, "web:2")
    clock.advance(200)
    await service.hand_back(second.id, "alice")
    assert await store.handle_time() == pytest.approx(100 + 0.2 * (200 - 100))


# -- capacity, presence and routing --------------------------------------------------------


async def test_capacity_limits_assignment_and_close_serves_the_queue(
        service: HandoffService, store: HandoffStore) -> None:
    await service.set_presence("alice", "online", capacity=2)
    tickets = [await open_ticket(service, f"web:{i}") for i in range(3)]
    assert [t.status for t in tickets] == ["assigned", "assigned", "queued"]
    assert (await service.agents())[0].active == 2
    assert await service.claim(tickets[2].id, "alice") is None
    assert await service.busy() is True
    async with service.events() as events:
        await service.close(tickets[0].id, "alice")
        got = await take(events, 2)
    assert [e.kind for e in got] == ["ticket_closed", "ticket_assigned"]
    assert got[1].ticket_id == tickets[2].id and got[1].agent == "alice"
    assert (await service.ticket(tickets[2].id)).status == "assigned"  # type: ignore[union-attr]
    assert (await service.agents())[0].active == 2


async def test_auto_assign_picks_the_least_loaded_then_longest_idle(
        service: HandoffService, clock: FakeClock) -> None:
    await service.set_presence("alice", "online")
    a1 = await open_ticket(service, "web:a1")
    clock.advance(1)
    a2 = await open_ticket(service, "web:a2")
    assert (a1.assigned_to, a2.assigned_to) == ("alice", "alice")
    await service.set_presence("bob", "online")
    clock.advance(1)
    b1 = await open_ticket(service, "web:b1")
    assert b1.assigned_to == "bob"  # bob holds 0, alice 2
    await service.close(a1.id, "alice")
    # alice and bob both hold 1 now; alice's last new ticket is older than bob's.
    clock.advance(1)
    assert (await open_ticket(service, "web:c1")).assigned_to == "alice"
    await service.set_presence("carol", "online")
    clock.advance(1)
    assert (await open_ticket(service, "web:c2")).assigned_to == "carol"
    await service.close(b1.id, "bob")
    await service.close((await service.open_ticket_of("web:c2")).id, "carol")  # type: ignore[union-attr]
    # bob and carol hold 0; bob's last new ticket is older.
    assert (await open_ticket(service, "web:c3")).assigned_to == "bob"


async def test_auto_assign_respects_skills(service: HandoffService) -> None:
    await service.set_presence("pre", "online", skills=["presale"])
    ticket = await open_ticket(service, skill="after_sales")
    assert ticket.status == "queued"
    assert await service.anyone_online() is True
    assert await service.anyone_online("after_sales") is False
    await service.set_presence("post", "online", skills=["after_sales"])
    assert (await service.ticket(ticket.id)).assigned_to == "post"  # type: ignore[union-attr]
    ticket = await service.auto_assign(ticket.id)
    assert ticket.assigned_to == "post"


async def test_presence_expires_without_heartbeat(service: HandoffService,
                                                  clock: FakeClock) -> None:
    await service.set_presence("alice", "online")
    clock.advance(121)
    assert [a.presence for a in await service.agents()] == ["offline"]
    assert await service.anyone_online() is False
    ticket = await open_ticket(service)
    assert ticket.status == "queued"
    await service.set_presence("alice", "online")  # the heartbeat is back
    assert (await service.agent("alice")).presence == "online"  # type: ignore[union-attr]
    assert (await service.ticket(ticket.id)).assigned_to == "alice"  # type: ignore[union-attr]


async def test_away_agents_are_not_routed_but_may_claim(service: HandoffService) -> None:
    await service.set_presence("alice", "away")
    ticket = await open_ticket(service)
    assert ticket.status == "queued"
    claimed = await service.claim(ticket.id, "alice")
    assert claimed is not None and claimed.assigned_to == "alice"


async def test_set_presence_defaults_updates_and_validates(service: HandoffService,
                                                           store: HandoffStore,
                                                           clock: FakeClock) -> None:
    async with service.events() as events:
        agent = await service.set_presence("alice", "online")
        assert (agent.capacity, agent.skills, agent.last_seen) == (
            5, ("presale", "after_sales"), T0)
        clock.advance(30)
        await service.set_presence("alice", "online")  # heartbeat: no event
        agent = await service.set_presence("alice", "away", capacity=2, skills=["presale"])
        assert (agent.presence, agent.capacity, agent.skills) == ("away", 2, ("presale",))
        got = await take(events, 2)
        assert [(e.kind, e.data["presence"]) for e in got] == [("presence", "online"),
                                                                ("presence", "away")]
        assert await kinds_until(events, store) == []
    agent = await service.set_presence("alice", "online")
    assert (agent.capacity, agent.skills, agent.last_seen) == (2, ("presale",), T0 + 30)
    with pytest.raises(InvalidRequest):
        await service.set_presence("alice", "busy")
    with pytest.raises(InvalidRequest):
        await service.set_presence("alice", "online", skills=["kitchen"])
    with pytest.raises(InvalidRequest):
        await service.set_presence("alice", "online", capacity=-1)
    assert [a.name for a in await service.agents()] == ["alice"]
    assert await service.agent("nobody") is None


async def test_busy_and_anyone_online(store: HandoffStore, clock: FakeClock) -> None:
    service = HandoffService(store, clock=clock, queue_limit=2, default_capacity=1)
    assert await service.busy() is True and await service.anyone_online() is False
    await service.set_presence("alice", "online", skills=["presale"])
    assert await service.busy("presale") is False
    assert await service.busy("after_sales") is True
    await open_ticket(service, "web:p0", skill="presale")
    assert await service.busy("presale") is True  # alice is at capacity
    await service.set_presence("bob", "online", capacity=10, skills=["after_sales"])
    assert await service.busy("after_sales") is False
    await service.set_presence("bob", "online", capacity=0)
    await service.set_presence("carol", "online", capacity=0, skills=["after_sales"])
    await service.set_presence("dave", "online", capacity=1, skills=["after_sales"])
    await open_ticket(service, "web:a0")  # dave takes it
    await service.set_presence("erin", "online", capacity=1, skills=["after_sales"])
    for i in range(1, 4):
        await open_ticket(service, f"web:a{i}")  # erin takes one, two wait
    assert len(await service.queue("after_sales")) == 2
    await service.set_presence("frank", "online", capacity=50, skills=["presale"])
    assert await service.busy("presale") is False
    await open_ticket(service, "web:a9")
    assert len(await service.queue("after_sales")) == 3  # more than queue_limit
    await service.set_presence("gus", "online", capacity=0, skills=["after_sales"])
    assert await service.busy("after_sales") is True
    assert await service.busy("presale") is False


# -- claiming ------------------------------------------------------------------------------


async def test_claim(service: HandoffService) -> None:
    ticket = await open_ticket(service)
    claimed = await service.claim(ticket.id, "alice")
    assert claimed is not None and claimed.assigned_to == "alice"
    assert await service.claim(ticket.id, "bob") is None
    again = await service.claim(ticket.id, "alice")
    assert again is not None and again.assigned_to == "alice"
    await service.close(ticket.id, "alice")
    with pytest.raises(TicketClosed):
        await service.claim(ticket.id, "bob")
    with pytest.raises(UnknownTicket):
        await service.claim("nope", "bob")


async def test_concurrent_claims_have_one_winner(service: HandoffService, peer: HandoffStore,
                                                 clock: FakeClock) -> None:
    other = HandoffService(peer, clock=clock)
    ticket = await open_ticket(service)
    services = [service, other]
    results = await asyncio.gather(*(services[i % 2].claim(ticket.id, f"agent{i}")
                                     for i in range(20)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert (await service.ticket(ticket.id)).assigned_to == winners[0].assigned_to  # type: ignore[union-attr]


# -- transfer and notes --------------------------------------------------------------------


async def test_transfer_to_an_agent(service: HandoffService, clock: FakeClock) -> None:
    await service.set_presence("alice", "online")
    ticket = await open_ticket(service)
    await service.set_presence("bob", "online", capacity=1)
    clock.advance(5)
    with pytest.raises(NotYourTicket):
        await service.transfer(ticket.id, "bob", to_agent="bob")
    async with service.events() as events:
        moved = await service.transfer(ticket.id, "alice", to_agent="bob")
        got = await take(events, 1)
    assert moved.assigned_to == "bob" and moved.assigned_at == T0 + 5
    assert moved.created_at == T0
    assert [(t.by, t.from_agent, t.to_agent) for t in moved.transfers] == [
        ("alice", "alice", "bob")]
    assert got[0].kind == "ticket_transferred" and got[0].agent == "bob"
    assert got[0].data["from_agent"] == "alice"
    assert await service.tickets_of("alice") == []
    other = await open_ticket(service, "web:other")
    assert other.assigned_to == "alice"
    with pytest.raises(AtCapacity):
        await service.transfer(other.id, "alice", to_agent="bob")
    with pytest.raises(InvalidRequest):
        await service.transfer(other.id, "alice", to_agent="alice")


async def test_transfer_checks_target_and_arguments(service: HandoffService,
                                                    clock: FakeClock) -> None:
    await service.set_presence("alice", "online")
    ticket = await open_ticket(service)
    await service.set_presence("bob", "offline")
    with pytest.raises(AgentUnavailable):
        await service.transfer(ticket.id, "alice", to_agent="bob")
    with pytest.raises(UnknownAgent):
        await service.transfer(ticket.id, "alice", to_agent="zed")
    with pytest.raises(InvalidRequest):
        await service.transfer(ticket.id, "alice")
    with pytest.raises(InvalidRequest):
        await service.transfer(ticket.id, "alice", to_skill="kitchen")
    with pytest.raises(UnknownTicket):
        await service.transfer("nope", "alice", to_skill="presale")
    await service.close(ticket.id, "alice")
    with pytest.raises(TicketClosed):
        await service.transfer(ticket.id, "alice", to_skill="presale")


async def test_transfer_to_a_skill_requeues_and_routes_to_someone_else(
        service: HandoffService, clock: FakeClock) -> None:
    await service.set_presence("alice", "online")
    ticket = await open_ticket(service, skill="after_sales")
    clock.advance(30)
    moved = await service.transfer(ticket.id, "alice", to_skill="presale")
    assert moved.status == "queued" and moved.skill == "presale"  # alice is not offered it back
    assert moved.created_at == T0 and moved.assigned_to is None
    assert await service.position(ticket.id) == (1, 3.0)
    await service.set_presence("bob", "online", skills=["presale"])
    moved = await service.ticket(ticket.id)  # type: ignore[assignment]
    assert moved.assigned_to == "bob"
    assert [(t.from_skill, t.to_skill) for t in moved.transfers] == [("after_sales", "presale")]


async def test_notes(service: HandoffService, store: HandoffStore) -> None:
    ticket = await open_ticket(service)
    async with service.events() as events:
        noted = await service.note(ticket.id, "alice", "VIP, ship by SF")
        got = await take(events, 1)
    assert [(n.author, n.text, n.ts) for n in noted.notes] == [("alice", "VIP, ship by SF", T0)]
    assert got[0].kind == "note_added" and got[0].data["text"] == "VIP, ship by SF"
    await service.close(ticket.id, "alice")
    noted = await service.note(ticket.id, "bob", "called back")
    assert len(noted.notes) == 2
    with pytest.raises(UnknownTicket):
        await service.note("nope", "bob", "x")


# -- the live chat -------------------------------------------------------------------------


async def test_shopper_messages_go_to_the_open_ticket(service: HandoffService) -> None:
    assert await service.shopper_message("web:abc123", "hello?") is None
    await service.set_presence("alice", "online")
    ticket = await open_ticket(service)
    async with service.events() as events:
        updated = await service.shopper_message("web:abc123", "photo", attachment="file-1")
        got = await take(events, 1)
    assert updated is not None
    assert [(m.role, m.author, m.text, m.attachment) for m in updated.messages] == [
        ("shopper", "Wang", "photo", "file-1")]
    assert updated.context.attachments == ["file-1"]
    assert got[0].kind == "shopper_message" and got[0].agent == "alice"
    assert got[0].data == {"text": "photo", "attachment": "file-1"}
    await service.close(ticket.id, "alice")
    assert await service.shopper_message("web:abc123", "anyone?") is None


async def test_agent_messages_only_from_the_assigned_agent(service: HandoffService) -> None:
    ticket = await open_ticket(service)
    with pytest.raises(NotAssigned):
        await service.agent_message(ticket.id, "alice", "hi")
    await service.claim(ticket.id, "alice")
    with pytest.raises(NotYourTicket):
        await service.agent_message(ticket.id, "bob", "hi")
    async with service.events() as events:
        updated = await service.agent_message(ticket.id, "alice", "hi, checking your order")
        got = await take(events, 1)
    assert [(m.role, m.author) for m in updated.messages] == [("agent", "alice")]
    assert got[0].kind == "agent_message" and got[0].conversation == "web:abc123"
    assert got[0].data == {"text": "hi, checking your order", "channel": "web"}
    await service.close(ticket.id, "alice")
    with pytest.raises(TicketClosed):
        await service.agent_message(ticket.id, "alice", "one more thing")


async def test_leave_message(service: HandoffService) -> None:
    ticket = await open_ticket(service)
    async with service.events() as events:
        left = await service.leave_message(ticket.id, "call me after 6pm", "13800000000")
        got = await take(events, 1)
    assert (left.left_message, left.contact, left.status) == (
        "call me after 6pm", "13800000000", "queued")
    assert got[0].kind == "left_message" and got[0].data["contact"] == "13800000000"
    closed = await service.close(ticket.id, "alice")  # answered by phone, never claimed
    assert (closed.status, closed.closed_by, closed.outcome) == ("closed", "alice", "closed")
    with pytest.raises(TicketClosed):
        await service.leave_message(ticket.id, "again", None)


# -- ending --------------------------------------------------------------------------------


async def test_hand_back_frees_the_agent_and_serves_the_next(service: HandoffService,
                                                             clock: FakeClock) -> None:
    await service.set_presence("alice", "online", capacity=1)
    first = await open_ticket(service, "web:1")
    second = await open_ticket(service, "web:2")
    assert second.status == "queued"
    with pytest.raises(NotAssigned):
        await service.hand_back(second.id, "alice")
    with pytest.raises(NotYourTicket):
        await service.hand_back(first.id, "bob")
    clock.advance(40)
    async with service.events() as events:
        back = await service.hand_back(first.id, "alice")
        got = await take(events, 2)
    assert (back.status, back.outcome, back.closed_by, back.closed_at) == (
        "closed", "handed_back", "alice", T0 + 40)
    assert await service.open_ticket_of("web:1") is None
    assert [e.kind for e in got] == ["handed_back", "ticket_assigned"]
    assert got[1].ticket_id == second.id
    assert [t.id for t in await service.tickets_of("alice")] == [second.id]
    with pytest.raises(TicketClosed):
        await service.hand_back(first.id, "alice")


async def test_close_and_rate(service: HandoffService, clock: FakeClock) -> None:
    await service.set_presence("alice", "online")
    ticket = await open_ticket(service, "web:1")
    with pytest.raises(NotYourTicket):
        await service.close(ticket.id, "bob")
    closed = await service.close(ticket.id, "alice")
    assert (closed.status, closed.outcome, closed.assigned_to) == ("closed", "closed", "alice")
    with pytest.raises(TicketClosed):
        await service.close(ticket.id, "alice")
    for bad in (0, 6, True, 4.5):
        with pytest.raises(BadRating):
            await service.rate(ticket.id, bad)  # type: ignore[arg-type]
    async with service.events() as events:
        rated = await service.rate(ticket.id, 5)
        got = await take(events, 1)
    assert rated.rating == 5
    assert got[0].kind == "rated" and got[0].agent == "alice" and got[0].data == {"rating": 5}
    with pytest.raises(AlreadyRated):
        await service.rate(ticket.id, 1)
    second = await open_ticket(service, "web:2")
    await service.close(second.id, "alice")
    await service.rate(second.id, 2)
    alice = await service.agent("alice")
    assert alice is not None
    assert (alice.rated, alice.rating_sum, alice.average_rating) == (2, 7, 3.5)
    with pytest.raises(UnknownTicket):
        await service.rate("nope", 3)


async def test_events_reach_two_subscribers_in_order(service: HandoffService,
                                                     store: HandoffStore,
                                                     peer: HandoffStore) -> None:
    await service.set_presence("alice", "online")
    other = HandoffService(peer)
    async with service.events() as console, other.events() as telegram:
        ticket = await open_ticket(service)
        await service.shopper_message(ticket.conversation, "where is my parcel")
        await service.agent_message(ticket.id, "alice", "on its way")
        await service.close(ticket.id, "alice")
        await service.rate(ticket.id, 4)
        expected = ["ticket_opened", "ticket_assigned", "shopper_message", "agent_message",
                    "ticket_closed", "rated"]
        assert [e.kind for e in await take(console, 6)] == expected
        assert [e.kind for e in await take(telegram, 6)] == expected
