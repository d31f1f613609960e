"""The agents' desk: the parts around one agents' group, started and stopped together.

The channel builds one :class:`AgentDesk` when KEFU_TELEGRAM_AGENT_CHAT is set, includes
its :meth:`~AgentDesk.router` and calls :meth:`~AgentDesk.start` and
:meth:`~AgentDesk.stop`. Everything else happens in the parts it wires together.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Router
from aiogram.methods import GetChatMember
from aiogram.types import ChatMemberAdministrator, ChatMemberOwner

from bot.services import Services
from bot.telegram.agents.actions import TicketActions
from bot.telegram.agents.events_to_topics import EventsToTopics
from bot.telegram.agents.group import AgentGroup, DeskStats
from bot.telegram.agents.handlers import GroupHandlers
from bot.telegram.agents.membership import Membership
from bot.telegram.agents.presence import HEARTBEAT, Presence
from bot.telegram.agents.topic_posts import TopicPoster
from bot.telegram.context_card import Texts
from bot.telegram.sender import TelegramSender
from bot.telegram.topics import TopicStore, make_topic_store
from handoff import EventFeed

log = logging.getLogger(__name__)


class AgentDesk:
    """The agents' side of one bot process; the channel starts and stops it."""

    def __init__(self, services: Services, bot: Bot, sender: TelegramSender, chat_id: int, *,
                 topics: TopicStore | None = None, heartbeat: float = HEARTBEAT) -> None:
        if chat_id >= 0:
            raise ValueError("KEFU_TELEGRAM_AGENT_CHAT: the agents' supergroup id, a negative "
                             "number like -1001234567890")
        self.bot = bot
        self.group = AgentGroup(services, sender, chat_id,
                                topics or make_topic_store(services.backend, chat_id),
                                Texts(services.brains))
        self.members = Membership(self.group)
        self.posts = TopicPoster(self.group, self.members)
        bot.session.middleware(self.posts.watch)
        self.events = EventsToTopics(self.group, self.members, self.posts)
        self.presence = Presence(self.group, heartbeat)
        self.actions = TicketActions(self.group, self.members)
        self.handlers = GroupHandlers(self.group, self.members, self.actions, self.presence)
        #: The process's handoff events (one subscription, shared with the bridge and the
        #: console); set ready while it is live.
        self.feed = services.events or EventFeed(services.handoff.events)
        self.ready = self.feed.ready
        self._listener = f"telegram-agents-{id(self)}"
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def topics(self) -> TopicStore:
        """The group's ticket ↔ topic store (replaceable: every part reads it from here)."""
        return self.group.topics

    @topics.setter
    def topics(self, store: TopicStore) -> None:
        self.group.topics = store

    @property
    def stats(self) -> DeskStats:
        return self.group.stats

    def router(self) -> Router:
        """The agents' router, for the channel's dispatcher."""
        return self.handlers.router()

    async def start(self) -> None:
        """Subscribe to handoff events now (none published from here on is missed), then
        follow them, check the group and renew Telegram agents' presence in the background."""
        self.feed.listen(self._listener, self.events.accept)
        await self.feed.start()
        self._tasks = [
            asyncio.create_task(self.presence.keep_renewing(), name="telegram-agents-presence"),
            asyncio.create_task(self._check_group(), name="telegram-agents-check")]

    async def stop(self, grace: float = 10.0) -> None:
        """Stop following events, finish the posts already queued, close the topic store."""
        await self.feed.unlisten(self._listener)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        drained = await self.events.lanes.close(grace)
        if not (await self.posts.drain(grace) and drained):
            log.warning("telegram agents: posts to topics left undone at shutdown")
        await self.group.topics.close()

    async def renew_presence(self) -> None:
        """One heartbeat now (see :meth:`Presence.renew`)."""
        await self.presence.renew()

    async def _check_group(self) -> None:
        """Say clearly at start-up when the bot cannot manage topics in the group."""
        group = self.group
        me = await group.sender.call(group.side("checks"),
                                     GetChatMember(chat_id=group.chat_id, user_id=self.bot.id),
                                     counts=False)
        if isinstance(me, ChatMemberOwner) or (
                isinstance(me, ChatMemberAdministrator) and me.can_manage_topics):
            log.info("telegram agents: working in chat %s", group.chat_id)
        else:
            log.error("telegram agents: the bot must be an admin of chat %s (a group with "
                      "Topics on) with the 'Manage topics' right", group.chat_id)
