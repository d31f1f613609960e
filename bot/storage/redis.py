"""Redis store: production backend shared by several bot processes.

Keys: ``{prefix}:conv:{key}:state`` (JSON), ``{prefix}:conv:{key}:log`` (a capped list) and
``{prefix}:conv:{key}:lock`` (a Redis lock so one conversation is handled by one process at
a time). Connection failures become StoreUnavailable, which the engine turns into a polite
reply instead of a traceback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.storage.base import (
    ConversationState,
    ConversationStore,
    StoreUnavailable,
    TranscriptEntry,
)
from config.redis_client import connect

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)




class RedisConversationStore(ConversationStore):
    """State as JSON strings, transcripts as lists trimmed on every append."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "kefu", lock_timeout: float = 30.0):
        self.redis = redis
        self.prefix = prefix
        self.lock_timeout = lock_timeout

    @classmethod
    def from_url(cls, url: str, prefix: str = "kefu") -> RedisConversationStore:
        return cls(connect(url), prefix=prefix)

    def _key(self, key: str, part: str) -> str:
        return f"{self.prefix}:conv:{key}:{part}"

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"Redis unavailable: {exc}") from exc

    async def load(self, key: str) -> ConversationState | None:
        raw = await self._call(self.redis.get(self._key(key, "state")))
        return ConversationState.from_json(raw) if raw is not None else None

    async def save(self, key: str, state: ConversationState) -> None:
        await self._call(self.redis.set(self._key(key, "state"), state.to_json()))

    async def append(self, key: str, entries: list[TranscriptEntry], cap: int) -> None:
        if not entries:
            return
        log = self._key(key, "log")
        pipe = self.redis.pipeline(transaction=True)
        pipe.rpush(log, *[e.to_json() for e in entries])
        pipe.ltrim(log, -cap, -1)
        await self._call(pipe.execute())

    async def transcript(self, key: str, last: int | None = None) -> list[TranscriptEntry]:
        start = -last if last else 0
        raws = await self._call(self.redis.lrange(self._key(key, "log"), start, -1))
        return [TranscriptEntry.from_json(r) for r in raws]

    async def load_with_history(self, key: str, last: int
                                ) -> tuple[ConversationState | None, list[TranscriptEntry]]:
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(self._key(key, "state"))
        pipe.lrange(self._key(key, "log"), -last if last else 0, -1)
        raw, raws = await self._call(pipe.execute())
        state = ConversationState.from_json(raw) if raw is not None else None
        return state, [TranscriptEntry.from_json(r) for r in raws]

    async def commit(self, key: str, state: ConversationState, entries: list[TranscriptEntry],
                     cap: int) -> None:
        log = self._key(key, "log")
        pipe = self.redis.pipeline(transaction=True)
        if entries:
            pipe.rpush(log, *[e.to_json() for e in entries])
            pipe.ltrim(log, -cap, -1)
        pipe.set(self._key(key, "state"), state.to_json())
        await self._call(pipe.execute())

    async def delete(self, key: str) -> None:
        await self._call(self.redis.delete(self._key(key, "state"), self._key(key, "log")))

    async def once(self, token: str, ttl: float) -> bool:
        key = f"{self.prefix}:once:{token}"
        return bool(await self._call(self.redis.set(key, b"1", nx=True, px=int(ttl * 1000))))

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        # Poll every 20 ms (redis-py's default is 100 ms): a shopper's burst of short lines
        # waits on the previous one, and each wait shows as reply latency.
        lock = self.redis.lock(self._key(key, "lock"), timeout=self.lock_timeout,
                               sleep=0.02, blocking_timeout=self.lock_timeout)
        try:
            acquired = await lock.acquire()
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"Redis unavailable: {exc}") from exc
        if not acquired:
            raise StoreUnavailable(f"conversation {key} is locked by another process")
        try:
            yield
        finally:
            try:
                await lock.release()
            except (LockError, RedisError):
                pass

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        await self.redis.aclose()
