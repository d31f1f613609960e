"""One storage backend per process: chosen once, one Redis client for every store, one
``once`` ("first caller wins") that the conversation store and the Telegram dedupe share."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio.connection import ConnectionPool

from bot.brain import Brain
from bot.services import Services
from bot.storage import MemoryConversationStore, StoreUnavailable
from bot.storage.redis import RedisConversationStore
from bot.telegram import TelegramChannel
from bot.telegram.dedupe import UpdateDedupe, make_dedupe
from bot.telegram.topics import RedisTopicStore, make_topic_store
from config import load_settings, redis_client
from config.backend import Backend, MemoryBackend, RedisBackend, open_backend
from tests.conftest import REDIS_URL, require_redis
from tests.conftest import redis_client as redis_for_test


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def backend(request: pytest.FixtureRequest, redis_prefix: str
                  ) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    async with redis_for_test(redis_prefix) as client:
        yield RedisBackend(client, prefix=redis_prefix)


async def test_once_is_true_for_the_first_caller_only(backend: Backend) -> None:
    results = await asyncio.gather(*[backend.once("event-1", 60) for _ in range(10)])
    assert results.count(True) == 1
    assert await backend.once("event-2", 60) is True
    assert await backend.once("event-short", 0.05) is True
    assert await backend.once("event-short", 0.05) is False
    await asyncio.sleep(0.1)
    assert await backend.once("event-short", 0.05) is True


async def test_stores_on_one_backend_share_its_once(backend: Backend) -> None:
    """Two conversation stores on one backend agree (like two processes on one Redis); the
    seen-update marks live beside the events' marks without meeting them."""
    if backend.redis is not None:
        one: Any = RedisConversationStore(backend.redis, backend.prefix, backend=backend)
        two: Any = RedisConversationStore(backend.redis, backend.prefix, backend=backend)
    else:
        one, two = MemoryConversationStore(backend), MemoryConversationStore(backend)
    assert await one.once("handoff-event:e1", 60) is True
    assert await two.once("handoff-event:e1", 60) is False
    dedupe = UpdateDedupe(backend)
    assert await dedupe.first_seen("handoff-event:e1") is True
    assert await dedupe.first_seen("handoff-event:e1") is False


async def test_memory_keeps_at_most_max_keys_oldest_first() -> None:
    now = [0.0]
    backend = MemoryBackend(max_keys=3, clock=lambda: now[0])
    for key in "abcde":
        assert await backend.once(key, 60)
    assert len(backend._seen) <= 3
    assert not await backend.once("e", 60)
    now[0] = 100.0  # all expired: the next call sweeps them
    assert await backend.once("f", 60)
    assert list(backend._seen) == ["f"]


async def test_redis_gone_is_store_unavailable() -> None:
    backend = RedisBackend(redis_client.connect("redis://127.0.0.1:1/0"))
    with pytest.raises(StoreUnavailable):
        await backend.once("x", 60)
    assert await backend.ping() is False
    await backend.close()


def test_services_in_memory_mode_build_every_store_on_one_backend(
        tmp_path: Path, brain: Brain) -> None:
    services = Services.build(load_settings(data_dir=tmp_path), brain=brain)
    assert isinstance(services.backend, MemoryBackend)
    assert isinstance(services.store, MemoryConversationStore)
    assert services.store.backend is services.backend
    assert make_dedupe(services.backend).backend is services.backend


@pytest.mark.redis
async def test_one_redis_pool_per_process(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    """Services (conversations, handoff, accounts, library versions, trained models, hit
    counts) and the Telegram channel (seen updates, topics) open exactly one pool, which
    still serves the running loop after the start-up read on a private one."""
    require_redis()
    pools: list[ConnectionPool] = []
    connects: list[str] = []
    real_init, real_connect = ConnectionPool.__init__, redis_client.connect

    def counting_init(self: ConnectionPool, *args: Any, **kwargs: Any) -> None:
        pools.append(self)
        real_init(self, *args, **kwargs)

    def counting_connect(url: str, **kwargs: Any) -> Any:
        connects.append(url)
        return real_connect(url, **kwargs)

    monkeypatch.setattr(ConnectionPool, "__init__", counting_init)
    monkeypatch.setattr(redis_client, "connect", counting_connect)
    monkeypatch.setenv("KEFU_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("KEFU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KEFU_TELEGRAM_TOKEN", "123456:AAH-valid-looking-token")
    monkeypatch.setenv("KEFU_TELEGRAM_AGENT_CHAT", "-1001")

    services = Services.build(load_settings())  # reads the published library first
    channel = TelegramChannel.from_settings(services)
    assert channel is not None and channel.desk is not None
    topics = make_topic_store(services.backend, -1002)
    client = services.backend.redis
    token = f"test-{uuid.uuid4().hex}"
    try:
        assert connects == [REDIS_URL]
        assert len(pools) == 1 and client is not None and client.connection_pool is pools[0]
        editor = services.library
        assert editor is not None
        stores: list[Any] = [services.store, services.handoff.store, services.users,
                             editor.versions, editor.trained, editor.hits,
                             channel.desk.topics, topics]
        assert all(store.redis is client for store in stores)
        assert isinstance(channel.desk.topics, RedisTopicStore)
        assert channel.intake.dedupe.backend is services.backend
        assert services.store.backend is services.backend

        assert await services.store.once(token, 5) is True
        assert await services.store.once(token, 5) is False
        assert await channel.intake.dedupe.first_seen(token) is True
        assert await services.handoff.store.ping()
        assert all(await asyncio.gather(*[services.backend.ping() for _ in range(200)]))
        await channel.stop(grace=0.1)  # the Telegram side closes its stores, not the client
        assert await services.backend.ping()
    finally:
        assert client is not None
        await client.delete(f"kefu:once:{token}", f"kefu:tg:seen:{token}")
        await services.close()
    assert len(pools) == 1 and connects == [REDIS_URL]


async def test_open_backend_follows_the_settings() -> None:
    assert isinstance(open_backend(load_settings()), MemoryBackend)
    backend = open_backend(load_settings(redis_url="redis://127.0.0.1:6379/15"))
    assert isinstance(backend, RedisBackend) and backend.redis is not None
    await backend.close()
