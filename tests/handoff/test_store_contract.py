"""One contract for every HandoffStore backend: memory and a real Redis.

Where two bot processes could collide the tests use ``peer`` (a second client on Redis).
"""

from __future__ import annotations

import asyncio

import pytest

from handoff import (
    Agent,
    AtCapacity,
    DuplicateTicket,
    Event,
    HandoffStore,
    MemoryHandoffStore,
    Note,
    RedisHandoffStore,
    Ticket,
    UnknownTicket,
    Waiting,
)
from tests.conftest import redis_client
from tests.handoff.conftest import T0


def make(ticket_id: str, conversation: str | None = None, *, priority: int = 1,
         created_at: float = T0, skill: str = "after_sales") -> Ticket:
    return Ticket(id=ticket_id, conversation=conversation or f"web:{ticket_id}", channel="web",
                  skill=skill, priority=priority, created_at=created_at)  # type: ignore[arg-type]


async def test_create_get_round_trip(store: HandoffStore) -> None:
    ticket = make("t1")
    ticket.context.slots = {"order_id": "1", "height": 170}
    saved, created = await store.create(ticket)
    assert created and saved == ticket
    loaded = await store.get("t1")
    assert loaded == ticket and loaded is not ticket
    assert await store.get("nope") is None


async def test_one_open_ticket_per_conversation(store: HandoffStore, peer: HandoffStore) -> None:
    stores = [store, peer]
    results = await asyncio.gather(*(stores[i % 2].create(make(f"c{i}", "web:same"))
                                     for i in range(10)))
    assert sum(created for _, created in results) == 1
    assert len({t.id for t, _ in results}) == 1
    opened = await store.open_ticket_of("web:same")
    assert opened is not None and opened.id == results[0][0].id


async def test_update_is_atomic_across_clients(store: HandoffStore, peer: HandoffStore) -> None:
    await store.create(make("t1"))
    stores = [store, peer]

    async def add(i: int) -> None:
        await stores[i % 2].update(
            "t1", lambda t: t.notes.append(Note(author="a", text=str(i), ts=T0)))

    await asyncio.gather(*(add(i) for i in range(30)))
    ticket = await store.get("t1")
    assert ticket is not None
    assert sorted(int(n.text) for n in ticket.notes) == list(range(30))


async def test_update_unknown_and_aborted(store: HandoffStore) -> None:
    with pytest.raises(UnknownTicket):
        await store.update("nope", lambda t: None)
    await store.create(make("t1"))

    def fail(ticket: Ticket) -> None:
        ticket.summary = "changed"
        raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        await store.update("t1", fail)
    ticket = await store.get("t1")
    assert ticket is not None and ticket.summary == ""


async def test_indexes_follow_the_ticket(store: HandoffStore) -> None:
    await store.create(make("a", priority=1, created_at=T0))
    await store.create(make("b", priority=0, created_at=T0 + 10))
    await store.create(make("c", priority=1, created_at=T0 + 5))
    assert [t.id for t in await store.queued()] == ["b", "a", "c"]
    assert await store.waiting() == [
        Waiting(0, T0 + 10, "b", "after_sales", "web:b", False),
        Waiting(1, T0, "a", "after_sales", "web:a", False),
        Waiting(1, T0 + 5, "c", "after_sales", "web:c", False),
    ]

    def leave(t: Ticket) -> None:
        t.left_message = "call me"

    await store.update("c", leave)  # every write of a queued ticket refreshes its entry
    assert (await store.waiting())[-1].left_message

    assert await store.claim("a", "alice", 5, now=T0 + 20)
    assert [t.id for t in await store.queued()] == ["b", "c"]
    assert [w.id for w in await store.waiting()] == ["b", "c"]
    assert [t.id for t in await store.tickets_of("alice")] == ["a"]
    assert await store.load_of("alice") == 1

    def move(t: Ticket) -> None:
        t.assigned_to, t.assigned_at = "bob", T0 + 30

    await store.update("a", move)
    assert await store.load_of("alice") == 0
    assert [t.id for t in await store.tickets_of("bob")] == ["a"]

    def close(t: Ticket) -> None:
        t.status = "closed"

    await store.update("a", close)
    assert await store.load_of("bob") == 0
    assert await store.open_ticket_of("web:a") is None
    assert (await store.open_ticket_of("web:b")) is not None
    reopened, created = await store.create(make("a2", "web:a"))
    assert created and reopened.id == "a2"


async def test_claim_race_has_exactly_one_winner(store: HandoffStore, peer: HandoffStore) -> None:
    await store.create(make("t1"))
    stores = [store, peer]
    results = await asyncio.gather(*(stores[i % 2].claim("t1", f"agent{i}", 5, now=T0)
                                     for i in range(20)))
    assert sum(results) == 1
    ticket = await store.get("t1")
    assert ticket is not None and ticket.status == "assigned"
    assert ticket.assigned_to == f"agent{results.index(True)}"
    assert sum([await store.load_of(f"agent{i}") for i in range(20)]) == 1


async def test_claim_respects_capacity_under_race(store: HandoffStore,
                                                  peer: HandoffStore) -> None:
    for i in range(6):
        await store.create(make(f"t{i}"))
    stores = [store, peer]
    results = await asyncio.gather(*(stores[i % 2].claim(f"t{i}", "alice", 2, now=T0)
                                     for i in range(6)))
    assert sum(results) == 2
    assert await store.load_of("alice") == 2
    left = await store.queued()
    assert len(left) == 4
    assert not await store.claim(left[0].id, "alice", 2, now=T0)


async def test_room_for_refuses_a_full_agent(store: HandoffStore) -> None:
    await store.create(make("t1"))
    await store.create(make("t2"))
    assert await store.claim("t1", "alice", 1, now=T0)
    with pytest.raises(AtCapacity):
        await store.update("t2", lambda t: None, room_for=("alice", 1))


async def test_agents_keep_counters_across_saves(store: HandoffStore) -> None:
    assert await store.get_agent("alice") is None
    saved = await store.save_agent(Agent(name="alice", presence="online", capacity=3,
                                         skills=("presale",), last_seen=T0))
    assert (saved.capacity, saved.skills, saved.active, saved.rated) == (3, ("presale",), 0, 0)
    await store.add_rating("alice", 4)
    await store.add_rating("alice", 5)
    await store.create(make("t1"))
    await store.claim("t1", "alice", 3, now=T0 + 1)
    await store.save_agent(Agent(name="alice", presence="away", capacity=4, last_seen=T0 + 2))
    agent = await store.get_agent("alice")
    assert agent is not None
    assert (agent.presence, agent.capacity, agent.skills) == ("away", 4,
                                                               ("presale", "after_sales"))
    assert (agent.rated, agent.rating_sum, agent.average_rating) == (2, 9, 4.5)
    assert agent.active == 1 and agent.last_assigned_at == T0 + 1
    await store.save_agent(Agent(name="bob"))
    assert [a.name for a in await store.list_agents()] == ["alice", "bob"]


async def test_set_presence_heartbeat(store: HandoffStore) -> None:
    assert await store.set_presence("ghost", "online", T0) is None
    await store.save_agent(Agent(name="alice", capacity=2))
    agent = await store.set_presence("alice", "online", T0 + 50)
    assert agent is not None
    assert (agent.presence, agent.last_seen, agent.capacity) == ("online", T0 + 50, 2)


async def test_handle_time_is_a_moving_average(store: HandoffStore) -> None:
    assert await store.handle_time() is None
    assert await store.record_handle_time(100.0, 0.5) == pytest.approx(100.0)
    assert await store.record_handle_time(200.0, 0.5) == pytest.approx(150.0)
    assert await store.handle_time() == pytest.approx(150.0)


async def test_events_reach_every_subscriber(store: HandoffStore, peer: HandoffStore) -> None:
    async with store.subscribe() as first, peer.subscribe() as second:
        sent = [Event(kind="ticket_opened", ticket_id="t1", conversation="web:1", ts=T0),
                Event(kind="agent_message", ticket_id="t1", agent="alice",
                      data={"text": "hello"}, ts=T0 + 1)]
        for event in sent:
            await store.publish(event)
        async with asyncio.timeout(5):
            got_first = [await anext(first) for _ in sent]
            got_second = [await anext(second) for _ in sent]
    assert got_first == sent and got_second == sent


async def test_closed_subscription_stops_iterating(store: HandoffStore) -> None:
    subscription = store.subscribe()
    await subscription.start()
    reader = asyncio.create_task(anext(subscription, None))
    await asyncio.sleep(0.05)
    await subscription.aclose()
    async with asyncio.timeout(5):
        assert await reader is None
    assert [e async for e in subscription] == []


async def test_ping(store: HandoffStore) -> None:
    assert await store.ping() is True


async def test_a_used_id_is_refused(store: HandoffStore) -> None:
    await store.create(make("t1"))
    with pytest.raises(DuplicateTicket):
        await store.create(make("t1", "web:other"))
    assert await store.open_ticket_of("web:other") is None


async def test_cancelled_reader_unsubscribes(store: HandoffStore) -> None:
    ready, heard = asyncio.Event(), asyncio.Event()

    async def pump() -> None:
        async with store.subscribe() as events:
            ready.set()
            async for _ in events:
                heard.set()

    task = asyncio.create_task(pump())
    async with asyncio.timeout(5):
        await ready.wait()
        await store.publish(Event(kind="presence", agent="x"))
        await heard.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await subscriber_count(store) == 0


async def subscriber_count(store: HandoffStore) -> int:
    if isinstance(store, RedisHandoffStore):
        counts = await store.redis.pubsub_numsub(store.channel)
        return int(counts[0][1])
    assert isinstance(store, MemoryHandoffStore)
    return len(store._subscribers)


async def test_places_and_lengths_per_skill(store: HandoffStore) -> None:
    await store.create(make("a", created_at=T0))
    await store.create(make("p", created_at=T0 + 1, skill="presale"))
    await store.create(make("b", created_at=T0 + 2))
    await store.create(make("u", priority=0, created_at=T0 + 3))  # urgent: first in line
    assert [(await store.place(i) or (None, 0))[1] for i in ("u", "a", "b", "p")] == [1, 2, 3, 1]
    found = await store.place("b")
    assert found is not None and found[0] == Waiting(1, T0 + 2, "b", "after_sales", "web:b",
                                                     False)
    assert (await store.queue_length(), await store.queue_length("after_sales"),
            await store.queue_length("presale")) == (4, 3, 1)

    def to_presale(t: Ticket) -> None:
        t.skill = "presale"

    await store.update("a", to_presale)  # transferred while queued: it changes lines
    assert (await store.place("a") or (None, 0))[1] == 1
    assert (await store.place("b") or (None, 0))[1] == 2
    assert (await store.queue_length("after_sales"), await store.queue_length("presale")) == (2, 2)
    assert await store.claim("u", "alice", 5, now=T0 + 9)
    assert await store.place("u") is None and await store.place("nope") is None
    assert (await store.place("b") or (None, 0))[1] == 1
    assert await store.queue_length() == 3


async def test_tickets_queued_before_the_index_still_count(redis_prefix: str) -> None:
    """An upgrade finds tickets in the queue without entries: they are read, not lost."""
    async with redis_client(redis_prefix) as client:
        store = RedisHandoffStore(client, prefix=redis_prefix)
        await store.create(make("old", created_at=T0))
        await store.create(make("new", created_at=T0 + 1))
        await store.create(make("pre", created_at=T0 + 2, skill="presale"))
        base = f"{redis_prefix}:handoff"
        await client.hdel(f"{base}:waiting", "old")
        await client.zrem(f"{base}:line:after_sales", "old")
        assert [(w.id, w.skill) for w in await store.waiting()] == [
            ("old", "after_sales"), ("new", "after_sales"), ("pre", "presale")]
        assert (await store.place("new") or (None, 0))[1] == 2
        assert await store.queue_length("after_sales") == 2
