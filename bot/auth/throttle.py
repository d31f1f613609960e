"""Fixed-window counters for login throttling, in memory or shared in Redis.

A login flood must not lock an agent out and must not stall shoppers, so the web login
counts attempts per address, failures per (account, address) and, looser, failures per
account; with Redis every bot process sees the same counts.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from bot.auth.users import RedisUserStore, UserError, UserStore

#: Counters kept in memory at most; the oldest windows are dropped first beyond this.
MEMORY_KEYS = 100_000


class Counters(ABC):
    """``hit`` adds one to a key's current window; ``peek`` reads it without adding."""

    @abstractmethod
    async def hit(self, key: str, window: int) -> int: ...

    @abstractmethod
    async def peek(self, key: str) -> tuple[int, float]:
        """(count, seconds until the window ends); (0, 0) for an unknown key."""

    @abstractmethod
    async def clear(self, key: str) -> None: ...


class MemoryCounters(Counters):
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str, window: int) -> int:
        now = time.monotonic()
        ends, count = self._windows.get(key, (0.0, 0))
        if ends <= now:
            ends, count = now + window, 0
        self._windows[key] = (ends, count + 1)
        if len(self._windows) > MEMORY_KEYS:
            self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
            while len(self._windows) > MEMORY_KEYS:
                del self._windows[next(iter(self._windows))]
        return count + 1

    async def peek(self, key: str) -> tuple[int, float]:
        ends, count = self._windows.get(key, (0.0, 0))
        left = ends - time.monotonic()
        return (count, left) if left > 0 else (0, 0.0)

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)


class RedisCounters(Counters):
    """``SET NX EX`` then ``INCR`` in one transaction: a window always expires."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "kefu") -> None:
        self.redis = redis
        self.prefix = f"{prefix}:login"

    async def hit(self, key: str, window: int) -> int:
        name = f"{self.prefix}:{key}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(name, 0, ex=window, nx=True)
                pipe.incr(name)
                _, count = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise UserError(f"login counters unavailable: {exc}") from exc
        return int(count)

    async def peek(self, key: str) -> tuple[int, float]:
        name = f"{self.prefix}:{key}"
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(name)
                pipe.pttl(name)
                raw, ttl = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise UserError(f"login counters unavailable: {exc}") from exc
        return (int(raw), ttl / 1000) if raw is not None and ttl > 0 else (0, 0.0)

    async def clear(self, key: str) -> None:
        try:
            await self.redis.delete(f"{self.prefix}:{key}")
        except (RedisError, OSError) as exc:
            raise UserError(f"login counters unavailable: {exc}") from exc


def counters_for(users: UserStore) -> Counters:
    """Shared in Redis when the accounts are (every process agrees), else in memory."""
    if isinstance(users, RedisUserStore):
        return RedisCounters(users.redis, users.prefix)
    return MemoryCounters()
