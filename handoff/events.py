"""Handoff events and the subscription every bot process reads them from.

The service publishes an :class:`Event` after every change; the web console, Telegram and
the bot subscribe and react (deliver an agent's message to the shopper, tell an agent a
ticket is theirs, refresh a queue view). A :class:`Subscription` is an async iterator and
an async context manager: enter it *before* the events you want to see are published.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from abc import abstractmethod
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

EventKind = Literal[
    "ticket_opened", "ticket_assigned", "ticket_transferred", "shopper_message",
    "agent_message", "note_added", "handed_back", "ticket_closed", "rated", "presence",
    "left_message",
]


class Event(BaseModel):
    """One thing that happened; ``data`` carries the kind's details (text, rating …)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    kind: EventKind
    ticket_id: str | None = None
    conversation: str | None = None
    agent: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    ts: float = 0.0

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        return cls.model_validate_json(raw)


class Subscription(AsyncIterator[Event]):
    """Events published after :meth:`start`, in order, until :meth:`aclose`.

    Use ``async with store.subscribe() as events: async for event in events: ...``. Iterating
    without ``async with`` starts the subscription lazily on the first ``__anext__``.
    """

    def __init__(self) -> None:
        self._started = False
        self._closed = False

    async def start(self) -> None:
        """Subscribe; returns once events published from now on will be received."""
        if not self._started and not self._closed:
            await self._start()
            self._started = True

    async def aclose(self) -> None:
        """Stop receiving; iteration ends."""
        if not self._closed:
            self._closed = True
            await self._close()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        if self._closed:
            raise StopAsyncIteration
        await self.start()
        try:
            return await self._next()
        except SubscriptionClosed:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Subscription:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    @abstractmethod
    async def _start(self) -> None:
        """Backend: begin receiving."""

    @abstractmethod
    async def _next(self) -> Event:
        """Backend: wait for the next event (raise SubscriptionClosed when closed meanwhile)."""

    @abstractmethod
    async def _close(self) -> None:
        """Backend: release what _start took."""


class SubscriptionClosed(Exception):
    """Internal: the subscription was closed while a reader waited."""


class QueueSubscription(Subscription):
    """In-process fan-out: the publisher puts each event on every subscriber's queue.

    The queue is bounded so a subscriber nobody reads cannot eat the memory: when it is
    full the oldest event is dropped (and logged).
    """

    def __init__(self, subscribers: set[QueueSubscription], maxsize: int = 1000) -> None:
        super().__init__()
        self._subscribers = subscribers
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=maxsize)

    def deliver(self, event: Event) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            log.warning("handoff subscriber too slow: dropped its oldest event")
        self._queue.put_nowait(event)

    async def _start(self) -> None:
        self._subscribers.add(self)

    async def _next(self) -> Event:
        event = await self._queue.get()
        if event is None:
            raise SubscriptionClosed
        return event

    async def _close(self) -> None:
        self._subscribers.discard(self)
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)
