"""Redis-only behaviour: two real OS processes racing, and Redis going away."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
import uuid

import pytest
from redis import asyncio as aioredis

from config.redis_client import connect
from handoff import (
    Event,
    HandoffService,
    HandoffUnavailable,
    RedisHandoffStore,
    Ticket,
)
from handoff.redis_store import RedisSubscription
from tests.conftest import REDIS_URL, ROOT, redis_client
from tests.handoff.conftest import T0, open_ticket


async def test_claim_race_between_two_processes(redis_prefix: str) -> None:
    async with redis_client(redis_prefix) as client:
        store = RedisHandoffStore(client, prefix=redis_prefix)
        await store.create(Ticket(id="t1", conversation="web:race", channel="web",
                                  created_at=T0))
        workers = [await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.handoff.claim_worker", REDIS_URL, redis_prefix, "t1",
            name, "10", cwd=ROOT, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE) for name in ("p1-", "p2-")]
        async with asyncio.timeout(30):
            for _ in workers:
                assert await client.blpop([f"{redis_prefix}:ready"], timeout=25)
            await client.rpush(f"{redis_prefix}:go", "go", "go")
            outputs = [await w.communicate() for w in workers]
        assert [w.returncode for w in workers] == [0, 0], [err for _, err in outputs]
        winners = [a for out, _ in outputs for a in json.loads(out)]
        assert len(winners) == 1
        ticket = await store.get("t1")
        assert ticket is not None and ticket.assigned_to == winners[0]
        assert await store.load_of(winners[0]) == 1


async def test_redis_gone_raises_handoff_unavailable_quickly() -> None:
    client = connect("redis://127.0.0.1:1/0")
    store = RedisHandoffStore(client, prefix="gone")
    service = HandoffService(store)
    started = time.monotonic()
    ticket = Ticket(id="t1", conversation="web:1", channel="web")
    for call in (store.get("t1"), store.create(ticket), store.update("t1", lambda t: None),
                 store.claim("t1", "alice", 5, now=T0), store.queued(),
                 store.list_agents(), store.publish(Event(kind="presence")),
                 store.handle_time(), open_ticket(service), service.busy(),
                 service.set_presence("alice", "online")):
        with pytest.raises(HandoffUnavailable):
            await call
    assert await store.ping() is False
    assert time.monotonic() - started < 3
    await client.aclose()


async def test_subscription_waits_out_an_unreachable_redis(
        caplog: pytest.LogCaptureFixture) -> None:
    subscription = RedisSubscription(connect("redis://127.0.0.1:1/0"), "gone:handoff:events",
                                     backoff=0.01, max_backoff=0.05)
    with caplog.at_level(logging.WARNING, logger="handoff.redis_store"):
        async with subscription:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await anext(subscription)
    assert sum("unreachable" in r.getMessage() for r in caplog.records) >= 2


async def test_subscription_reconnects_after_its_connection_dies(redis_prefix: str) -> None:
    name = f"{redis_prefix}-sub-{uuid.uuid4().hex[:6]}"
    async with redis_client(redis_prefix) as admin:
        listener = aioredis.Redis.from_url(REDIS_URL, client_name=name)
        store = RedisHandoffStore(listener, prefix=redis_prefix)
        publisher = RedisHandoffStore(admin, prefix=redis_prefix)
        subscription = store.subscribe()
        assert isinstance(subscription, RedisSubscription)
        subscription.backoff = subscription.max_backoff = 0.05
        async with subscription:
            await publisher.publish(Event(kind="presence", agent="before"))
            async with asyncio.timeout(5):
                assert (await anext(subscription)).agent == "before"
            killed = 0
            for client in await admin.client_list():
                if client.get("name") == name:
                    killed += await admin.client_kill_filter(_id=client["id"])
            assert killed >= 1
            reader = asyncio.create_task(anext(subscription))
            async with asyncio.timeout(10):
                while not reader.done():  # pub/sub keeps nothing: repeat until heard
                    await publisher.publish(Event(kind="presence", agent="after"))
                    await asyncio.sleep(0.05)
            assert reader.result().agent == "after"
            assert subscription.reconnects >= 1
        await listener.aclose()
