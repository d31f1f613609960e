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
from bot.engine import Engine
from bot.storage import ConversationStore, MemoryConversationStore
from config import Settings
from scripts_zh.loader import load_library

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The wiring of one bot process."""

    settings: Settings
    brains: BrainHolder
    store: ConversationStore
    engine: Engine
    users: UserStore
    started_at: float = field(default_factory=time.time)

    @classmethod
    def build(cls, settings: Settings, *, store: ConversationStore | None = None,
              clock: Callable[[], float] = time.time, brain: Brain | None = None) -> Services:
        """Load the library (refusing a broken one), train, and pick the store backend."""
        if brain is None:
            library = load_library(settings.library_dir)
            started = time.perf_counter()
            brain = Brain.build(library, settings.shop_name)
            log.info("library %s loaded: %d intents, trained in %.0f ms", library.digest,
                     len(library.intents), (time.perf_counter() - started) * 1000)
        brains = BrainHolder(brain)
        if store is None:
            store = make_store(settings)
        engine = Engine(settings, brains, store, clock=clock)
        return cls(settings=settings, brains=brains, store=store, engine=engine,
                   users=make_user_store(settings))

    async def close(self) -> None:
        await self.store.close()


def make_store(settings: Settings) -> ConversationStore:
    """Redis when KEFU_REDIS_URL is set, otherwise the in-memory default."""
    if settings.redis_url:
        from bot.storage.redis import RedisConversationStore

        return RedisConversationStore.from_url(settings.redis_url)
    return MemoryConversationStore()
