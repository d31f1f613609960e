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
from bot.editor.runtime import EditorRuntime
from bot.engine import Engine
from bot.handoff_bridge import HandoffBridge
from bot.storage import ConversationStore, MemoryConversationStore
from config import Settings
from handoff import HandoffService, HandoffStore, MemoryHandoffStore, RedisHandoffStore

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
    #: Script editor: published versions, live reload, hit counts.
    editor: EditorRuntime | None = None

    @classmethod
    def build(cls, settings: Settings, *, store: ConversationStore | None = None,
              clock: Callable[[], float] = time.time, brain: Brain | None = None) -> Services:
        """Load the published library (else the folder's, refusing a broken one), train, and
        pick the store backend."""
        editor = EditorRuntime.build(settings)
        if brain is None:
            brain = editor.startup_brain()
        brains = BrainHolder(brain)
        editor.attach(brains)
        if store is None:
            store = make_store(settings)
        users = make_user_store(settings)
        handoff = HandoffService(make_handoff_store(settings), clock=clock,
                                 default_capacity=settings.agent_capacity,
                                 queue_limit=settings.hours.queue_limit)
        channels = Channels()
        bridge = HandoffBridge(settings, brains, store, handoff, channels, users, clock=clock)
        engine = Engine(settings, brains, store, handoff=bridge, observer=editor,
                        clock=clock)
        return cls(settings=settings, brains=brains, store=store, engine=engine, users=users,
                   handoff=handoff, bridge=bridge, channels=channels, editor=editor)

    async def close(self) -> None:
        if self.editor is not None:
            await self.editor.close()
        await self.store.close()
        await self.handoff.store.close()


def make_handoff_store(settings: Settings) -> HandoffStore:
    """Tickets and agents beside the conversations: Redis when configured, else memory."""
    if settings.redis_url:
        return RedisHandoffStore.from_url(settings.redis_url)
    return MemoryHandoffStore()


def make_store(settings: Settings) -> ConversationStore:
    """Redis when KEFU_REDIS_URL is set, otherwise the in-memory default."""
    if settings.redis_url:
        from bot.storage.redis import RedisConversationStore

        return RedisConversationStore.from_url(settings.redis_url)
    return MemoryConversationStore()
