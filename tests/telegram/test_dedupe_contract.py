"""The seen-update store: one contract, run against memory and a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis import asyncio as aioredis

from bot.storage import StoreUnavailable
from bot.telegram.dedupe import (
    MemoryUpdateDedupe,
    RedisUpdateDedupe,
    UpdateDedupe,
    make_dedupe,
)
from config import load_settings
from config.backend import MemoryBackend, RedisBackend, open_backend
from tests.conftest import free_port, redis_client


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make(request: pytest.FixtureRequest, redis_prefix: str
               ) -> AsyncIterator[type[UpdateDedupe] | object]:
    """A factory ``make(ttl) -> UpdateDedupe`` for the parametrised backend."""
    if request.param == "memory":
        yield lambda ttl=60.0: MemoryUpdateDedupe(ttl=ttl)
        return
    async with redis_client(redis_prefix) as client:
        yield lambda ttl=60.0: RedisUpdateDedupe(client, prefix=redis_prefix, ttl=ttl)


async def test_first_time_only(make: object) -> None:
    dedupe: UpdateDedupe = make()  # type: ignore[operator]
    assert await dedupe.first_seen("7:100") is True
    assert await dedupe.first_seen("7:100") is False
    assert await dedupe.first_seen("7:100") is False
    assert await dedupe.first_seen("7:101") is True
    assert await dedupe.first_seen("8:100") is True


async def test_concurrent_marks_agree(make: object) -> None:
    dedupe: UpdateDedupe = make()  # type: ignore[operator]
    results = await asyncio.gather(*[dedupe.first_seen("7:200") for _ in range(20)])
    assert results.count(True) == 1


async def test_keys_expire_after_the_ttl(make: object) -> None:
    dedupe: UpdateDedupe = make(0.2)  # type: ignore[operator]
    assert await dedupe.first_seen("7:300")
    assert not await dedupe.first_seen("7:300")
    await asyncio.sleep(0.35)
    assert await dedupe.first_seen("7:300")


async def test_two_instances_share_redis(redis_prefix: str) -> None:
    async with redis_client(redis_prefix) as client:
        one = RedisUpdateDedupe(client, prefix=redis_prefix)
        two = RedisUpdateDedupe(client, prefix=redis_prefix)
        assert await one.first_seen("7:400")
        assert not await two.first_seen("7:400")
        assert await client.ttl(f"{redis_prefix}:tg:seen:7:400") > 3600


async def test_memory_keeps_at_most_max_keys() -> None:
    backend = MemoryBackend(max_keys=3)
    dedupe = UpdateDedupe(backend)
    for i in range(5):
        assert await dedupe.first_seen(str(i))
    assert len(backend._seen) <= 3
    assert not await dedupe.first_seen("4")


async def test_redis_down_is_store_unavailable() -> None:
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0",
                                     socket_connect_timeout=0.5)
    dedupe = RedisUpdateDedupe(client)
    with pytest.raises(StoreUnavailable):
        await dedupe.first_seen("7:500")
    await client.aclose()


async def test_backend_follows_the_settings() -> None:
    assert isinstance(make_dedupe(open_backend(load_settings())).backend, MemoryBackend)
    backend = open_backend(load_settings(redis_url="redis://127.0.0.1:6379/15"))
    redis_backed = make_dedupe(backend)
    assert isinstance(redis_backed.backend, RedisBackend)
    assert redis_backed.backend is backend
    await backend.close()
