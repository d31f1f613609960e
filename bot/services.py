"""Everything a running bot needs, built once from Settings and passed to the channels.

Like aiogram's Dispatcher keyword arguments: handlers receive what they need from here
instead of importing globals, so tests build a Services with their own store and clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.auth import UserStore, make_user_store
from bot.brain import Brain, BrainHolder
from bot.channels import Channels
from bot.coalesce import Coalescer
from bot.engine import Engine
from bot.handoff_bridge import HandoffBridge
from bot.library.runtime import LibraryRuntime
from bot.storage import ConversationStore, MemoryConversationStore
from config import Settings
from config.backend import Backend, MemoryBackend, open_backend
from handoff import EventFeed, HandoffService, HandoffStore, MemoryHandoffStore, RedisHandoffStore

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The wiring of one bot process."""

    settings: Settings
    brains: BrainHolder
    store: ConversationStore
    engine: Engine
    users: UserStore
    handoff: HandoffService
    bridge: HandoffBridge
    #: Outboxes by channel name (web, telegram) for messages that start on the agents' side.
    channels: Channels = field(default_factory=Channels)
    started_at: float = field(default_factory=time.time)
    #: The script library's life cycle: published versions, live reload, hit counts,
    #: unanswered lines (the editor's pages work on it).
    library: LibraryRuntime | None = None
    #: A shopper's burst of fragments read as one turn (web chat and Telegram).
    coalescer: Coalescer = field(default_factory=lambda: Coalescer(0.0, 1000))
    #: Memory or Redis, chosen once; every store above is built on it (one Redis client).
    backend: Backend = field(default_factory=MemoryBackend)
    #: The process's one subscription to handoff events: the bridge, the console hub and
    #: the Telegram desk listen to it.
    events: EventFeed | None = None

    @classmethod
    def build(cls, settings: Settings, *, store: ConversationStore | None = None,
              clock: Callable[[], float] = time.time, brain: Brain | None = None) -> Services:
        """Load the published library (else the folder's, refusing a broken one), train, and
        open the storage backend that every store is built on."""
        backend = open_backend(settings)
        library = LibraryRuntime.build(settings, backend)
        if brain is None:
            brain = library.startup_brain()
        brains = BrainHolder(brain)
        library.attach(brains)
        if store is None:
            store = make_store(backend)
        users = make_user_store(settings, backend)
        handoff = HandoffService(make_handoff_store(backend), clock=clock,
                                 default_capacity=settings.agent_capacity,
                                 queue_limit=settings.hours.queue_limit)
        channels = Channels()
        events = EventFeed(handoff.events)
        bridge = HandoffBridge(settings, brains, store, handoff, channels, users, events,
                               clock=clock)
        engine = Engine(settings, brains, store, handoff=bridge, observer=library,
                        clock=clock)
        return cls(settings=settings, brains=brains, store=store, engine=engine, users=users,
                   handoff=handoff, bridge=bridge, channels=channels, library=library,
                   coalescer=Coalescer(settings.message_pause, settings.max_message_chars),
                   backend=backend, events=events)

    async def close(self) -> None:
        await self.coalescer.drain()
        if self.events is not None:
            await self.events.stop()
        if self.library is not None:
            await self.library.close()
        await self.store.close()
        await self.handoff.store.close()
        await self.backend.close()


def make_handoff_store(backend: Backend) -> HandoffStore:
    """Tickets and agents beside the conversations, on the same backend."""
    if backend.redis is not None:
        return RedisHandoffStore(backend.redis, prefix=backend.prefix)
    return MemoryHandoffStore()


def make_store(backend: Backend) -> ConversationStore:
    """Conversations on the backend's Redis when it has one, else in memory."""
    if backend.redis is not None:
        from bot.storage.redis import RedisConversationStore

        return RedisConversationStore(backend.redis, prefix=backend.prefix, backend=backend)
    return MemoryConversationStore(backend)
