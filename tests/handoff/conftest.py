"""Handoff fixtures: every store-backed test runs on memory and on a real Redis.

``peer`` is a second view of the same state, as another bot process would have it: the
same MemoryHandoffStore, or a RedisHandoffStore with its own client on the same prefix.
Time comes from a FakeClock the tests advance, never from sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis import asyncio as aioredis

from handoff import HandoffService, HandoffStore, MemoryHandoffStore, RedisHandoffStore, Ticket
from tests.conftest import REDIS_URL, redis_client

T0 = 1_700_000_000.0


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = T0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_prefix: str
                ) -> AsyncIterator[HandoffStore]:
    if request.param == "memory":
        yield MemoryHandoffStore()
        return
    async with redis_client(redis_prefix) as client:
        yield RedisHandoffStore(client, prefix=redis_prefix)


@pytest.fixture
async def peer(store: HandoffStore) -> AsyncIterator[HandoffStore]:
    if not isinstance(store, RedisHandoffStore):
        yield store
        return
    client = aioredis.Redis.from_url(REDIS_URL)
    yield RedisHandoffStore(client, prefix=store.prefix)
    await client.aclose()


@pytest.fixture
def service(store: HandoffStore, clock: FakeClock) -> HandoffService:
    return HandoffService(store, clock=clock)


async def open_ticket(service: HandoffService, conversation: str = "web:abc123", *,
                      skill: str = "after_sales", priority: int = 1,
                      reason: str = "asked_for_human", summary: str = "summary") -> Ticket:
    """Open a ticket with a realistic context packet."""
    return await service.open(
        conversation=conversation, channel=conversation.split(":")[0], shopper_name="Wang",
        reason=reason, intent="refund", skill=skill, priority=priority, summary=summary,
        context={"transcript": [{"role": "shopper", "text": "refund please", "ts": T0,
                                 "intent": "refund", "confidence": 0.91}],
                 "turns": [{"intent": "refund", "confidence": 0.91}],
                 "slots": {"order_id": "123456"}, "anger": 0.2})
