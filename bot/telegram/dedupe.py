"""Seen-update memory, so an update Telegram delivers twice is handled once.

Telegram redelivers when a webhook answer was lost or slow, and long polling hands out an
update again when the bot stopped before confirming it. Each update is marked before it is
handled: ``first_seen`` is True exactly once per key within ``ttl``. The mark is the
backend's ``once`` under ``tg:seen:`` (in Redis ``SET NX PX``, so several bot processes
behind one webhook agree).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from redis import asyncio as aioredis

from config.backend import Backend, MemoryBackend, RedisBackend

#: Telegram keeps undelivered updates for 24 hours; a day covers every redelivery.
DEFAULT_TTL = 24 * 3600.0


class UpdateDedupe:
    """Remembers update keys for ``ttl`` seconds on a backend."""

    def __init__(self, backend: Backend, ttl: float = DEFAULT_TTL) -> None:
        self.backend = backend
        self.ttl = ttl

    async def first_seen(self, key: str) -> bool:
        """Mark ``key`` seen; True only for the first call within the TTL."""
        return await self.backend.once(f"tg:seen:{key}", self.ttl)

    async def close(self) -> None:
        """Nothing: the backend is the process's, closed once by it."""


class MemoryUpdateDedupe(UpdateDedupe):
    """On a memory backend of its own (one process, tests)."""

    def __init__(self, ttl: float = DEFAULT_TTL, max_keys: int = 200_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(MemoryBackend(max_keys=max_keys, clock=clock), ttl)


class RedisUpdateDedupe(UpdateDedupe):
    """``{prefix}:tg:seen:{key}`` on the given client, which the caller closes."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "kefu",
                 ttl: float = DEFAULT_TTL) -> None:
        super().__init__(RedisBackend(redis, prefix), ttl)


def make_dedupe(backend: Backend) -> UpdateDedupe:
    """On the process's backend: in Redis when it has one (processes must agree)."""
    return UpdateDedupe(backend)
