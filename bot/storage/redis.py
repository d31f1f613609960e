"""Redis store: production backend shared by several bot processes.

Keys: ``{prefix}:conv:{key}:state`` (JSON), ``{prefix}:conv:{key}:log`` (a capped list) and
``{prefix}:conv:{key}:lock`` (a Redis lock so one conversation is handled by one process at
a time). Connection failures become StoreUnavailable, which the engine turns into a polite
reply instead of a traceback. The client is the process's (``config.backend``): the store
never closes it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from redis import asyncio as aioredis
from redis.exceptions import LockError, RedisError

from bot.storage.base import ConversationState, ConversationStore, Held, TranscriptEntry
from config.backend import Backend, RedisBackend, StoreUnavailable
from config.redis_client import UNAVAILABLE

#: How often a message waiting for its conversation's lock asks again (redis-py's Lock
#: polls every 100 ms; a shopper's burst of short lines waits on the previous one).
LOCK_POLL = 0.02

# One message = two round trips: take the lock and read (state, recent transcript), then
# write and let go. KEYS: lock, state, log. An absent state reads as "".
_TAKE_AND_READ = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end
local n = tonumber(ARGV[3])
local recent = {}
if n > 0 then recent = redis.call('LRANGE', KEYS[3], -n, -1) end
return {1, redis.call('GET', KEYS[2]) or '', recent}
"""
# KEYS: state, log, lock. ARGV: token, state JSON, cap, entries...
_WRITE_AND_RELEASE = """
if #ARGV > 3 then
  redis.call('RPUSH', KEYS[2], unpack(ARGV, 4))
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
end
redis.call('SET', KEYS[1], ARGV[2])
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return 1
"""
# KEYS: lock. ARGV: token. Only the holder's token releases it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class _RedisHeld(Held):
    """Commits and releases the lock in one script; the hold's end then has nothing to do."""

    def __init__(self, store: RedisConversationStore, key: str, token: str,
                 state: ConversationState | None, history: list[TranscriptEntry]) -> None:
        super().__init__(store, key, state, history)
        self.token = token
        self.released = False

    async def commit(self, state: ConversationState, entries: list[TranscriptEntry],
                     cap: int) -> None:
        store = cast(RedisConversationStore, self.store)
        await store._call(store._write_and_release(
            keys=[store._key(self.key, "state"), store._key(self.key, "log"),
                  store._key(self.key, "lock")],
            args=[self.token, state.to_json(), cap, *[e.to_json() for e in entries]]))
        self.released = True


class RedisConversationStore(ConversationStore):
    """State as JSON strings, transcripts as lists trimmed on every append."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "kefu", lock_timeout: float = 30.0,
                 *, backend: Backend | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        #: For ``once``: the process's backend, or one on the same client and prefix.
        self.backend = backend or RedisBackend(redis, prefix)
        self.lock_timeout = lock_timeout
        self._take_and_read = redis.register_script(_TAKE_AND_READ)
        self._write_and_release = redis.register_script(_WRITE_AND_RELEASE)
        self._release = redis.register_script(_RELEASE)

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

    async def delete(self, key: str) -> None:
        await self._call(self.redis.delete(self._key(key, "state"), self._key(key, "log")))

    @asynccontextmanager
    async def hold(self, key: str, last: int) -> AsyncIterator[Held]:
        lock = self._key(key, "lock")
        keys = [lock, self._key(key, "state"), self._key(key, "log")]
        token = uuid.uuid4().hex
        args: list[str | int] = [token, int(self.lock_timeout * 1000), max(0, last)]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lock_timeout
        while True:
            reply = await self._call(self._take_and_read(keys=keys, args=args))
            if reply[0] == 1:
                break
            if loop.time() >= deadline:
                raise StoreUnavailable(f"conversation {key} is locked by another process")
            await asyncio.sleep(LOCK_POLL)
        raw_state, raw_recent = reply[1], reply[2]
        held = _RedisHeld(self, key, token,
                          ConversationState.from_json(raw_state) if raw_state else None,
                          [TranscriptEntry.from_json(r) for r in raw_recent])
        try:
            yield held
        finally:
            if not held.released:
                try:
                    await self._release(keys=[lock], args=[token])
                except (RedisError, OSError):
                    pass  # it expires after lock_timeout

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        lock = self.redis.lock(self._key(key, "lock"), timeout=self.lock_timeout,
                               sleep=LOCK_POLL, blocking_timeout=self.lock_timeout)
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
