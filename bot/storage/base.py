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
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from config.backend import Backend

Status = Literal["bot", "waiting", "agent", "closed"]
Role = Literal["shopper", "bot", "agent", "system", "note"]


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Which conversation: a channel and the chat's id there (like aiogram's StorageKey).

    Stores, tickets and events carry it as the text ``channel:chat_id``; ``str`` and
    :meth:`parse` are the only places that spell that form out.
    """

    channel: str
    chat_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.chat_id}"

    @classmethod
    def parse(cls, text: str) -> ConversationKey:
        """The key of a stored ``channel:chat_id`` (ValueError for anything else)."""
        channel, sep, chat_id = text.partition(":")
        if not sep or not channel:
            raise ValueError(f"not a conversation key: {text[:40]!r}")
        return cls(channel, chat_id)


@dataclass
class Control:
    """The engine's own bookkeeping between turns, apart from the shopper's slots.

    Actions still read and set these as Rasa slots (the action server's protocol knows only
    slots); the engine keeps them here, typed, and shows agents only the shopper's slots.
    """

    #: Messages in a row the bot could not place (fallback, unanswered clarify).
    unanswered: int = 0
    #: Intents offered by the last clarifying question, in order.
    clarify_options: list[str] = field(default_factory=list)
    #: Topics offered by the last 猜你想问, in order.
    suggested: list[str] = field(default_factory=list)
    #: The multi-turn dialogue in progress (sizing, refund, logistics).
    active_dialog: str | None = None
    #: The topic last answered: short follow-ups ("那运费呢") are read against it.
    topic: str | None = None
    #: Why the conversation is being handed over (asked_for_human, unanswered, ...).
    handoff_reason: str | None = None
    #: The next line is the message left for agents (留言).
    leave_message: bool = False
    #: The closed ticket whose 1-5 rating the shopper is being asked for.
    rating_ticket: str | None = None
    #: The queue place the shopper was last told.
    told_position: int | None = None
    #: The sizing dialogue already asked for a fit preference.
    fit_asked: bool = False
    #: The latest anger score (0..1), for the ticket's priority.
    anger: float = 0.0

    def set(self, name: str, value: Any) -> None:
        """Set a field from a Rasa slot event (None resets it to its default)."""
        if value is None:
            value = _CONTROL_DEFAULTS[name]() if name in _CONTROL_LISTS else _CONTROL_DEFAULTS[name]
        setattr(self, name, value)

    def as_slots(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CONTROL_FIELDS}


CONTROL_FIELDS = frozenset(f.name for f in fields(Control))
_CONTROL_LISTS = frozenset({"clarify_options", "suggested"})
_CONTROL_DEFAULTS: dict[str, Any] = {
    f.name: (list if f.name in _CONTROL_LISTS else f.default) for f in fields(Control)}


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
    control: Control = field(default_factory=Control)

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(self.channel, self.chat_id)

    def to_json(self) -> str:
        # vars(), not asdict(): json.dumps walks the nested slots itself, and asdict's deep
        # copy was a tenth of the engine's time per message.
        return json.dumps({**vars(self), "control": vars(self.control)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> ConversationState:
        data = json.loads(raw)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        control = known.pop("control", None) or {}
        slots = known.get("slots") or {}
        # A conversation saved before the control part kept these among its slots.
        for name in CONTROL_FIELDS & slots.keys():
            control.setdefault(name, slots.pop(name))
        state = cls(**known)
        for name, value in control.items():
            if name in CONTROL_FIELDS:
                state.control.set(name, value)
        return state


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
