"""In-process store: the embedded default (one process, nothing to install)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakValueDictionary

from bot.storage.base import ConversationState, ConversationStore, TranscriptEntry


class MemoryConversationStore(ConversationStore):
    """Dicts and deques; states are stored as JSON so callers never share mutable objects."""

    def __init__(self) -> None:
        self._states: dict[str, str] = {}
        self._logs: dict[str, deque[TranscriptEntry]] = {}
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()
        self._once: dict[str, float] = {}

    async def load(self, key: str) -> ConversationState | None:
        raw = self._states.get(key)
        return ConversationState.from_json(raw) if raw is not None else None

    async def save(self, key: str, state: ConversationState) -> None:
        self._states[key] = state.to_json()

    async def append(self, key: str, entries: list[TranscriptEntry], cap: int) -> None:
        log = self._logs.get(key)
        if log is None or log.maxlen != cap:
            log = deque(log or (), maxlen=cap)
            self._logs[key] = log
        log.extend(entries)

    async def transcript(self, key: str, last: int | None = None) -> list[TranscriptEntry]:
        entries = list(self._logs.get(key, ()))
        return entries[-last:] if last else entries

    async def delete(self, key: str) -> None:
        self._states.pop(key, None)
        self._logs.pop(key, None)

    async def once(self, token: str, ttl: float) -> bool:
        now = time.monotonic()
        if len(self._once) > 10_000:
            self._once = {k: v for k, v in self._once.items() if v > now}
        if self._once.get(token, 0.0) > now:
            return False
        self._once[token] = now + ttl
        return True

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            yield
