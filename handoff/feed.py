"""The process's one subscription to handoff events, fanned out to its listeners.

The bridge (shoppers' side), the console hub (agents' screens) and the Telegram desk (forum
topics) each need every event. On Redis a subscription holds a connection for as long as it
lives, and each listener used to keep its own, with its own idea of when to resubscribe.
Here one subscription feeds one queue per listener (a slow listener never holds the others
up), with one retry policy: back off from one second to thirty while the store is away,
then tell every listener there was a gap so it can re-read what it shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from handoff.events import Event, Subscription

log = logging.getLogger(__name__)

OnEvent = Callable[[Event], Awaitable[None]]
OnGap = Callable[[], Awaitable[None]]

GAP = "gap"
FIRST_RETRY = 1.0
LAST_RETRY = 30.0


@dataclass
class _Listener:
    name: str
    on_event: OnEvent
    on_gap: OnGap | None
    queue: asyncio.Queue[Event | str | None] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None


class EventFeed:
    """Start once per process; listeners join before or after it starts."""

    def __init__(self, subscribe: Callable[[], Subscription], *,
                 first_retry: float = FIRST_RETRY, last_retry: float = LAST_RETRY) -> None:
        self._subscribe = subscribe
        self.first_retry = first_retry
        self.last_retry = last_retry
        self._listeners: dict[str, _Listener] = {}
        self._reader: asyncio.Task[None] | None = None
        self._started = False
        #: Set while the subscription is live.
        self.ready = asyncio.Event()

    def listen(self, name: str, on_event: OnEvent, on_gap: OnGap | None = None) -> None:
        """Deliver every event from now on to ``on_event``, one at a time, in order."""
        if name in self._listeners:
            raise ValueError(f"a listener named {name!r} already follows the feed")
        listener = _Listener(name, on_event, on_gap)
        self._listeners[name] = listener
        if self._started:
            listener.worker = asyncio.create_task(self._work(listener), name=f"feed-{name}")

    async def unlisten(self, name: str) -> None:
        listener = self._listeners.pop(name, None)
        if listener is not None and listener.worker is not None:
            listener.worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener.worker

    async def start(self) -> None:
        """Subscribe now (no event published after this returns is missed), then read."""
        if self._started:
            return  # (set before the first await: two starters never subscribe twice)
        self._started = True
        first = self._subscribe()
        subscription: Subscription | None = first
        try:
            await first.start()
        except Exception as exc:  # the store is away: the reader keeps trying
            log.warning("handoff events: cannot subscribe yet (%s)", exc)
            subscription = None
        for listener in self._listeners.values():
            if listener.worker is None:
                listener.worker = asyncio.create_task(self._work(listener),
                                                      name=f"feed-{listener.name}")
        self._reader = asyncio.create_task(self._read(subscription), name="handoff-feed")

    async def stop(self) -> None:
        """Stop reading; each listener finishes the events already queued for it."""
        reader, self._reader = self._reader, None
        self._started = False
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        workers = []
        for listener in self._listeners.values():
            if listener.worker is not None:
                listener.queue.put_nowait(None)
                workers.append(listener.worker)
                listener.worker = None
        await asyncio.gather(*workers, return_exceptions=True)
        self.ready.clear()

    async def _read(self, subscription: Subscription | None) -> None:
        delay = self.first_retry
        gap = False
        while True:
            try:
                if subscription is None:
                    subscription = self._subscribe()
                async with subscription as events:
                    self.ready.set()
                    delay = self.first_retry
                    if gap:
                        self._gap()
                    async for event in events:
                        for listener in self._listeners.values():
                            listener.queue.put_nowait(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("handoff events lost (%s); subscribing again in %.0f s", exc, delay)
            self.ready.clear()
            subscription, gap = None, True
            await asyncio.sleep(delay)
            delay = min(self.last_retry, delay * 2)

    def _gap(self) -> None:
        """Events may have been missed: each listener hears so, in order with the events."""
        for listener in self._listeners.values():
            listener.queue.put_nowait(GAP)

    @staticmethod
    async def _work(listener: _Listener) -> None:
        while True:
            item = await listener.queue.get()
            if item is None:
                return
            if item == GAP:
                if listener.on_gap is not None:
                    await _safely(listener.name, listener.on_gap())
            elif isinstance(item, Event):
                await _safely(listener.name, listener.on_event(item))


async def _safely(name: str, work: Awaitable[None]) -> None:
    """A listener's failure is logged; it never stops the feed or the other listeners."""
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("handoff event listener %s failed", name)
