"""One contract for every ConversationStore backend: memory and a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.storage import (
    ConversationState,
    ConversationStore,
    MemoryConversationStore,
    StoreUnavailable,
    TranscriptEntry,
)
from bot.storage.redis import RedisConversationStore
from config.redis_client import connect
from tests.conftest import redis_store


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_prefix: str
                ) -> AsyncIterator[ConversationStore]:
    if request.param == "memory":
        yield MemoryConversationStore()
        return
    async with redis_store(redis_prefix) as backend:
        yield backend


async def test_unknown_conversation_is_none(store: ConversationStore) -> None:
    assert await store.load("web:nobody") is None
    assert await store.transcript("web:nobody") == []


async def test_state_round_trips(store: ConversationStore) -> None:
    state = ConversationState(channel="web", chat_id="a", display_name="小王", status="waiting",
                              slots={"height": 170, "weight": 130.5, "order_id": "123"},
                              traditional=True, turn=3)
    await store.save("web:a", state)
    loaded = await store.load("web:a")
    assert loaded == state
    assert loaded is not state


async def test_saved_state_is_not_shared(store: ConversationStore) -> None:
    state = ConversationState(slots={"a": 1})
    await store.save("k", state)
    state.slots["a"] = 2
    loaded = await store.load("k")
    assert loaded is not None and loaded.slots == {"a": 1}


async def test_transcript_is_capped_and_ordered(store: ConversationStore) -> None:
    for i in range(5):
        await store.append("k", [TranscriptEntry("shopper", f"m{i}", float(i)),
                                 TranscriptEntry("bot", f"r{i}", float(i), "presale", 0.9)], cap=6)
    entries = await store.transcript("k")
    assert len(entries) == 6
    assert [e.text for e in entries] == ["m2", "r2", "m3", "r3", "m4", "r4"]
    assert entries[-1].intent == "presale" and entries[-1].confidence == 0.9
    assert [e.text for e in await store.transcript("k", last=2)] == ["m4", "r4"]


async def test_delete_forgets_everything(store: ConversationStore) -> None:
    await store.save("k", ConversationState(turn=1))
    await store.append("k", [TranscriptEntry("shopper", "x", 0.0)], cap=10)
    await store.delete("k")
    assert await store.load("k") is None
    assert await store.transcript("k") == []


async def test_lock_serialises_one_conversation(store: ConversationStore) -> None:
    order: list[str] = []

    async def worker(name: str) -> None:
        async with store.lock("k"):
            order.append(f"{name}-in")
            await asyncio.sleep(0.02)
            order.append(f"{name}-out")

    await asyncio.gather(worker("a"), worker("b"), worker("c"))
    assert len(order) == 6
    for i in range(0, 6, 2):
        assert order[i].endswith("-in") and order[i + 1].endswith("-out")
        assert order[i].split("-")[0] == order[i + 1].split("-")[0]


async def test_locks_of_different_conversations_do_not_block(store: ConversationStore) -> None:
    async with store.lock("k1"):
        async with asyncio.timeout(2):
            async with store.lock("k2"):
                pass


async def test_ping(store: ConversationStore) -> None:
    assert await store.ping() is True


async def test_redis_gone_is_store_unavailable() -> None:
    client = connect("redis://127.0.0.1:1/0")
    store = RedisConversationStore(client, prefix="gone")
    with pytest.raises(StoreUnavailable):
        await store.load("k")
    with pytest.raises(StoreUnavailable):
        await store.load_with_history("k", last=20)
    with pytest.raises(StoreUnavailable):
        await store.commit("k", ConversationState(), [TranscriptEntry("bot", "x", 0.0)], cap=5)
    with pytest.raises(StoreUnavailable):
        async with store.lock("k"):
            pass
    with pytest.raises(StoreUnavailable):
        async with store.hold("k", last=20):
            pass
    assert await store.ping() is False
    with pytest.raises(StoreUnavailable):
        await store.once("event", 60)
    await client.aclose()


async def test_once_is_true_exactly_once(store: ConversationStore) -> None:
    results = await asyncio.gather(*[store.once("event-1", 60) for _ in range(10)])
    assert results.count(True) == 1
    assert await store.once("event-2", 60) is True
    assert await store.once("event-short", 0.05) is True
    await asyncio.sleep(0.1)
    assert await store.once("event-short", 0.05) is True


async def test_load_with_history_is_load_and_transcript(store: ConversationStore) -> None:
    assert await store.load_with_history("web:new", last=20) == (None, [])
    state = ConversationState(chat_id="h", turn=2)
    await store.save("web:h", state)
    await store.append("web:h", [TranscriptEntry("shopper", f"m{i}", float(i)) for i in range(5)],
                       cap=10)
    loaded, recent = await store.load_with_history("web:h", last=3)
    assert loaded == state
    assert [e.text for e in recent] == ["m2", "m3", "m4"]


async def test_commit_appends_and_saves_together(store: ConversationStore) -> None:
    await store.append("web:c", [TranscriptEntry("shopper", "old", 0.0)], cap=3)
    state = ConversationState(chat_id="c", turn=7, slots={"height": 170})
    await store.commit("web:c", state, [TranscriptEntry("shopper", "q", 1.0),
                                        TranscriptEntry("bot", "a", 1.0, "presale", 0.9),
                                        TranscriptEntry("bot", "b", 1.0)], cap=3)
    assert await store.load("web:c") == state
    assert [e.text for e in await store.transcript("web:c")] == ["q", "a", "b"]
    await store.commit("web:c", ConversationState(chat_id="c", turn=8), [], cap=3)
    loaded = await store.load("web:c")
    assert loaded is not None and loaded.turn == 8
    assert len(await store.transcript("web:c")) == 3


async def test_hold_reads_state_and_history_and_commit_writes(store: ConversationStore) -> None:
    async with store.hold("web:h", last=2) as held:
        assert (held.state, held.history) == (None, [])
        await held.commit(ConversationState(chat_id="h", turn=1),
                          [TranscriptEntry("shopper", f"m{i}", float(i)) for i in range(4)], cap=3)
    async with store.hold("web:h", last=2) as held:
        assert held.state == ConversationState(chat_id="h", turn=1)
        assert [e.text for e in held.history] == ["m2", "m3"]
        await held.commit(ConversationState(chat_id="h", turn=2), [], cap=3)
    assert [e.text for e in await store.transcript("web:h")] == ["m1", "m2", "m3"]
    loaded = await store.load("web:h")
    assert loaded is not None and loaded.turn == 2
    async with store.hold("web:h", last=0) as held:
        assert held.history == [] and held.state is not None


async def test_hold_serialises_messages_with_lock_and_itself(store: ConversationStore) -> None:
    """Each hold reads what the previous one committed; holds and plain locks of the same
    conversation never overlap, committed or not, and an error inside lets go too."""
    order: list[str] = []

    async def message(name: str, fail: bool = False) -> None:
        async with store.hold("k", last=5) as held:
            order.append(f"{name}-in")
            turn = held.state.turn if held.state else 0
            await asyncio.sleep(0.02)
            order.append(f"{name}-out")
            if fail:
                raise RuntimeError("the handler broke")
            await held.commit(ConversationState(turn=turn + 1),
                              [TranscriptEntry("shopper", name, 0.0)], cap=50)

    async def plain(name: str) -> None:
        async with store.lock("k"):
            order.append(f"{name}-in")
            await asyncio.sleep(0.02)
            order.append(f"{name}-out")

    async def failing() -> None:
        with pytest.raises(RuntimeError):
            await message("x", fail=True)

    await asyncio.gather(message("a"), plain("p"), message("b"), failing(), message("c"))
    assert len(order) == 10
    for i in range(0, 10, 2):
        assert order[i].endswith("-in") and order[i + 1] == order[i].replace("-in", "-out")
    loaded = await store.load("k")
    assert loaded is not None and loaded.turn == 3
    assert sorted(e.text for e in await store.transcript("k")) == ["a", "b", "c"]
    async with asyncio.timeout(2):  # nothing is left locked
        async with store.hold("k", last=1):
            pass
