"""The conversation store contract shared by the memory and Redis backends.

One conversation = its state (status, slots, counters) plus a capped transcript. The store
also serialises a conversation's messages (``lock``), so one shopper's burst is handled in
order even when several bot processes share Redis.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from config.backend import Backend

Status = Literal["bot", "waiting", "agent", "closed"]
Role = Literal["shopper", "bot", "agent", "system", "note"]


@dataclass
class ConversationState:
    """Everything the engine remembers about one conversation between turns."""

    channel: str = "web"
    chat_id: str = ""
    display_name: str = ""
    status: Status = "bot"
    slots: dict[str, Any] = field(default_factory=dict)
    traditional: bool = False
    turn: int = 0
    welcomed: bool = False
    ticket_id: str | None = None
    auto_reply_episode: str | None = None
    started_at: float = 0.0
    updated_at: float = 0.0

    def to_json(self) -> str:
        # vars(), not asdict(): json.dumps walks the nested slots itself, and asdict's deep
        # copy was a tenth of the engine's time per message.
        return json.dumps(vars(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> ConversationState:
        data = json.loads(raw)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class TranscriptEntry:
    """One line of a conversation as agents will read it."""

    role: Role
    text: str
    ts: float
    intent: str | None = None
    confidence: float | None = None
    author: str | None = None

    def to_json(self) -> str:
        return json.dumps(vars(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> TranscriptEntry:
        data = json.loads(raw)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class Held:
    """One conversation held for one message (:meth:`ConversationStore.hold`): what was read
    when the lock was taken, and the write that ends the message."""

    def __init__(self, store: ConversationStore, key: str, state: ConversationState | None,
                 history: list[TranscriptEntry]) -> None:
        self.store = store
        self.key = key
        self.state = state
        self.history = history

    async def commit(self, state: ConversationState, entries: list[TranscriptEntry],
                     cap: int) -> None:
        """The message's outcome, written last: nothing of the conversation may change
        after it within the hold (the Redis store lets go of the lock in the same call)."""
        await self.store.commit(self.key, state, entries, cap)


class ConversationStore(ABC):
    """Abstract store; see MemoryConversationStore and RedisConversationStore."""

    #: The process's backend, for :meth:`once`.
    backend: Backend

    @abstractmethod
    async def load(self, key: str) -> ConversationState | None:
        """The saved state, or None for a conversation never seen."""

    @abstractmethod
    async def save(self, key: str, state: ConversationState) -> None:
        """Replace the state."""

    @abstractmethod
    async def append(self, key: str, entries: list[TranscriptEntry], cap: int) -> None:
        """Add transcript lines, keeping only the newest ``cap``."""

    @abstractmethod
    async def transcript(self, key: str, last: int | None = None) -> list[TranscriptEntry]:
        """The transcript, oldest first (only the newest ``last`` when given)."""

    async def load_with_history(self, key: str, last: int
                                ) -> tuple[ConversationState | None, list[TranscriptEntry]]:
        """``load`` and ``transcript(last=...)`` together (used by the default ``hold``)."""
        return await self.load(key), await self.transcript(key, last)

    async def commit(self, key: str, state: ConversationState, entries: list[TranscriptEntry],
                     cap: int) -> None:
        """``append`` then ``save`` (what the default ``Held.commit`` does)."""
        await self.append(key, entries, cap)
        await self.save(key, state)

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Forget the conversation (state and transcript)."""

    @abstractmethod
    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold while handling one message of ``key``: messages are handled one at a time."""

    @asynccontextmanager
    async def hold(self, key: str, last: int) -> AsyncIterator[Held]:
        """Lock ``key`` for one message and read its state and newest ``last`` transcript
        entries (none for 0); the lock is released when the block ends. A backend may do
        better than ``lock`` + ``load_with_history`` + ``commit``: Redis takes two round
        trips."""
        async with self.lock(key):
            if last > 0:
                state, history = await self.load_with_history(key, last)
            else:
                state, history = await self.load(key), []
            yield Held(self, key, state, history)

    async def once(self, token: str, ttl: float) -> bool:
        """True for the first caller with ``token`` (within ``ttl`` seconds), False after:
        when every bot process sees an event, exactly one acts on it (the backend's
        :meth:`~config.backend.Backend.once`)."""
        return await self.backend.once(f"once:{token}", ttl)

    async def ping(self) -> bool:
        """True when the backend answers."""
        return True

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the store holds itself (the backend's client is not the store's)."""
