"""Seen-update memory, so an update Telegram delivers twice is handled once.

Telegram redelivers when a webhook answer was lost or slow, and long polling hands out an
update again when the bot stopped before confirming it. Each update is marked before it is
handled: ``first_seen`` is True exactly once per key within ``ttl``. Like the conversation
store there is an abstract contract, an in-process backend and a Redis backend (``SET NX
EX``, so several bot processes behind one webhook agree).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable

from redis import asyncio as aioredis

from bot.storage import StoreUnavailable
from bot.storage.redis import UNAVAILABLE, connect
from config import Settings

#: Telegram keeps undelivered updates for 24 hours; a day covers every redelivery.
DEFAULT_TTL = 24 * 3600.0


class UpdateDedupe(ABC):
    """Remembers update keys for ``ttl`` seconds."""

    ttl: float

    @abstractmethod
    async def first_seen(self, key: str) -> bool:
        """Mark ``key`` seen; True only for the first call within the TTL."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class MemoryUpdateDedupe(UpdateDedupe):
    """Insertion-ordered keys with expiry times; the TTL is fixed, so the oldest expire first."""

    def __init__(self, ttl: float = DEFAULT_TTL, max_keys: int = 200_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_keys = max_keys
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def first_seen(self, key: str) -> bool:
        now = self.clock()
        while self._seen:
            oldest, expires = next(iter(self._seen.items()))
            if expires > now and len(self._seen) < self.max_keys:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        self._seen[key] = now + self.ttl
        return True


class RedisUpdateDedupe(UpdateDedupe):
    """``{prefix}:tg:seen:{key}`` set with NX and an expiry; shared by every bot process."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "kefu", ttl: float = DEFAULT_TTL,
                 *, owns_client: bool = False) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl
        self._owns_client = owns_client

    async def first_seen(self, key: str) -> bool:
        try:
            added = await self.redis.set(f"{self.prefix}:tg:seen:{key}", b"1", nx=True,
                                         px=max(1, int(self.ttl * 1000)))
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"Redis unavailable: {exc}") from exc
        return bool(added)

    async def close(self) -> None:
        if self._owns_client:
            await self.redis.aclose()


def make_dedupe(settings: Settings) -> UpdateDedupe:
    """Redis when KEFU_REDIS_URL is set (processes must agree), otherwise in memory."""
    if settings.redis_url:
        return RedisUpdateDedupe(connect(settings.redis_url), owns_client=True)
    return MemoryUpdateDedupe()
