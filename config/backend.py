"""The storage backend of one process, chosen once from Settings: memory or Redis.

Like aiogram's ``BaseStorage`` (``MemoryStorage``, ``RedisStorage``): ``Services.build``
opens it and builds every store on it, so a Redis process holds one client, one connection
pool, however many stores it has; ``Services.close`` closes it once. Stores built on the
shared client never close it themselves.

The backend also owns the one "first caller wins" primitive, :meth:`Backend.once`: when
every bot process sees an event (a handoff event, a Telegram update delivered twice),
exactly one acts on it.
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from config import redis_client
from config.settings import Settings

DEFAULT_PREFIX = "kefu"


class StoreUnavailable(RuntimeError):
    """The backend cannot be reached; callers answer the shopper with a safe text."""


class Backend(ABC):
    """Where this process keeps what outlives a message; see MemoryBackend and RedisBackend."""

    #: The shared client in Redis mode; None in memory mode, where each store keeps its
    #: data in the process (or, for accounts and library versions, in the data folder).
    redis: aioredis.Redis | None = None
    prefix: str = DEFAULT_PREFIX

    @abstractmethod
    async def once(self, key: str, ttl: float) -> bool:
        """True for the first caller with ``key`` within ``ttl`` seconds, False after."""

    async def ping(self) -> bool:
        """True when the backend answers."""
        return True

    async def leave_loop(self) -> None:  # noqa: B027 - optional hook
        """Drop connections opened on the running event loop (see RedisBackend)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called once, by whoever opened the backend."""


class MemoryBackend(Backend):
    """One process, nothing to install: ``once`` remembers keys in a dict with expiry times.

    At most ``max_keys`` are kept: the oldest go first once they expired or the dict is full.
    """

    def __init__(self, *, max_keys: int = 200_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_keys = max_keys
        self.clock = clock
        self._seen: dict[str, float] = {}

    async def once(self, key: str, ttl: float) -> bool:
        now = self.clock()
        seen = self._seen
        while seen:
            oldest = next(iter(seen))
            if seen[oldest] > now and len(seen) < self.max_keys:
                break
            del seen[oldest]
        if seen.get(key, 0.0) > now:
            return False
        seen.pop(key, None)  # a key seen before and expired goes to the back of the line
        seen[key] = now + ttl
        return True


class RedisBackend(Backend):
    """One client for every store of the process; ``once`` is ``SET {prefix}:{key} NX PX``,
    so several bot processes sharing the Redis agree on who was first."""

    redis: aioredis.Redis

    def __init__(self, redis: aioredis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix

    async def once(self, key: str, ttl: float) -> bool:
        try:
            return bool(await self.redis.set(f"{self.prefix}:{key}", b"1", nx=True,
                                             px=max(1, int(ttl * 1000))))
        except redis_client.UNAVAILABLE as exc:
            raise StoreUnavailable(f"Redis unavailable: {exc}") from exc

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False

    async def leave_loop(self) -> None:
        """An asyncio client's connections belong to the loop that opened them: a private
        loop (the start-up read of the published library) closes them before it ends, and
        the serving loop opens its own from the same pool."""
        with contextlib.suppress(RedisError, OSError):  # what was read stays good
            await self.redis.connection_pool.disconnect()

    async def close(self) -> None:
        await self.redis.aclose(close_connection_pool=True)


def open_backend(settings: Settings) -> Backend:
    """Redis when KEFU_REDIS_URL is set (processes share it), otherwise memory."""
    if settings.redis_url:
        return RedisBackend(redis_client.connect(settings.redis_url))
    return MemoryBackend()
