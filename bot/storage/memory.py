"""In-process store: the embedded default (one process, nothing to install)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakValueDictionary

from bot.storage.base import ConversationState, ConversationStore, TranscriptEntry
from config.backend import Backend, MemoryBackend


class MemoryConversationStore(ConversationStore):
    """Dicts and deques; states are stored as JSON so callers never share mutable objects."""

    def __init__(self, backend: Backend | None = None) -> None:
        self.backend = backend or MemoryBackend()
        self._states: dict[str, str] = {}
        self._logs: dict[str, deque[TranscriptEntry]] = {}
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

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

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            yield
