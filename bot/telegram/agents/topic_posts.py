"""Posts into tickets' forum topics, in order, within the group's flood limit.

Each ticket's posts leave from a queue of their own, in order; lines that pile up behind
the group's flood limit (20 posts a minute) are merged into one message. A ticket's topic is
opened with its context card and the buttons on first need; a topic someone deleted is
replaced by a new one (card first) and the post made again; a topic someone closed while
the ticket is open is reopened.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    CloseForumTopic,
    CreateForumTopic,
    ReopenForumTopic,
    Response,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType

from bot.storage import StoreUnavailable
from bot.telegram.agents.group import AgentGroup
from bot.telegram.agents.membership import Membership
from bot.telegram.context_card import card_keyboard, card_text, fit, topic_name, units
from bot.telegram.sender import MAX_TEXT
from handoff import HandoffUnavailable, Ticket

log = logging.getLogger(__name__)

#: What Telegram answers when a topic is gone (deleted) or closed.
GONE = ("thread not found", "topic_deleted", "topic_id_invalid")
CLOSED = ("topic_closed",)

#: Builds a post for a topic, given the topic's message thread id.
Build = Callable[[int], TelegramMethod[Any]]


class ThreadWatch(BaseRequestMiddleware):
    """Tells a post that failed because its topic is gone (or closed) from other failures.

    The sender logs and drops every 400, returning None; this request middleware on the
    bot's session notes, for the calls the agents' side asks it to watch, which 400 it was.
    """

    def __init__(self) -> None:
        self._watched: dict[int, str] = {}

    def watch(self, method: TelegramMethod[Any]) -> None:
        self._watched[id(method)] = ""

    def outcome(self, method: TelegramMethod[Any]) -> str:
        """``gone``, ``closed`` or ``""``; forgets the call."""
        return self._watched.pop(id(method), "")

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            key = id(method)
            if key in self._watched:
                text = exc.message.lower()
                if any(g in text for g in GONE):
                    self._watched[key] = "gone"
                elif any(c in text for c in CLOSED):
                    self._watched[key] = "closed"
            raise


@dataclass(frozen=True)
class _Line:
    """A text line waiting for its topic."""

    ticket: Ticket
    text: str
    create: bool


class TopicPoster:
    """Per-ticket queues of posts and the topics they go to. ``watch`` must be installed on
    the bot's session (the desk does it) for deleted and closed topics to be noticed."""

    def __init__(self, group: AgentGroup, members: Membership) -> None:
        self.group = group
        self.members = members
        self.watch = ThreadWatch()
        self._outgoing: dict[str, deque[_Line | Callable[[], Awaitable[object]]]] = {}
        self._flushers: set[asyncio.Task[None]] = set()

    # -- the topics' outgoing queue ----------------------------------------------------------

    def line(self, ticket: Ticket, text: str, *, create: bool = True) -> None:
        """Queue a text line for the ticket's topic (lines waiting together go as one post)."""
        self._enqueue(ticket.id, _Line(ticket, fit(text, MAX_TEXT), create))

    def job(self, ticket: Ticket, job: Callable[[], Awaitable[object]]) -> None:
        """Queue anything else for the topic, in order with the lines."""
        self._enqueue(ticket.id, job)

    def _enqueue(self, ticket_id: str, item: _Line | Callable[[], Awaitable[object]]) -> None:
        queue = self._outgoing.get(ticket_id)
        if queue is not None:
            queue.append(item)
            return
        self._outgoing[ticket_id] = deque([item])
        task = asyncio.create_task(self._flush(ticket_id), name=f"telegram-topic-{ticket_id}")
        self._flushers.add(task)
        task.add_done_callback(self._flushers.discard)

    async def _flush(self, ticket_id: str) -> None:
        """Post a ticket's queue in order. While one post waits for the group's flood limit
        (20 a minute), the lines arriving meanwhile gather and go as one message, so a busy
        group lags by a few posts' time instead of falling further behind with every line."""
        queue = self._outgoing[ticket_id]
        try:
            while queue:
                item = queue.popleft()
                try:
                    if isinstance(item, _Line):
                        await self._post_lines(item, queue)
                    else:
                        await item()
                except (StoreUnavailable, HandoffUnavailable) as exc:
                    log.warning("telegram agents: a post to the topic of %s failed: %s",
                                ticket_id, exc)
                except Exception:
                    log.exception("telegram agents: a post to the topic of %s failed", ticket_id)
        finally:
            if self._outgoing.get(ticket_id) is queue:
                del self._outgoing[ticket_id]

    async def _post_lines(self, first: _Line, queue: deque[_Line | Any]) -> None:
        lines = [first.text]
        ticket, create = first.ticket, first.create
        while queue and isinstance(queue[0], _Line) and units(
                "\n".join([*lines, queue[0].text])) <= MAX_TEXT:
            line = queue.popleft()
            lines.append(line.text)
            ticket, create = line.ticket, create or line.create
        text = "\n".join(lines)
        await self.post(ticket, lambda thread: SendMessage(
            chat_id=self.group.chat_id, message_thread_id=thread, text=text), create=create)

    async def drain(self, grace: float) -> bool:
        """Wait for the queued posts (up to ``grace`` seconds), then cancel the rest."""
        pending = set(self._flushers)
        if pending:
            _, left = await asyncio.wait(pending, timeout=grace)
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)
            return not left
        return True

    # -- the topics ------------------------------------------------------------------------

    async def ensure_topic(self, ticket: Ticket, *, create: bool = True) -> int | None:
        """The ticket's topic; opened (with its card) when it has none yet and ``create``."""
        thread = await self.group.topics.topic_of(ticket.id)
        if thread is not None or not create or not ticket.is_open:
            return thread
        async with self.group.services.store.lock(f"tg-topic:{self.group.chat_id}:{ticket.id}"):
            thread = await self.group.topics.topic_of(ticket.id)
            if thread is not None:
                return thread
            return await self._open_topic(ticket)

    async def _replace_topic(self, ticket: Ticket, old: int) -> int | None:
        """The topic was deleted: open a new one, unless another post already did."""
        async with self.group.services.store.lock(f"tg-topic:{self.group.chat_id}:{ticket.id}"):
            thread = await self.group.topics.topic_of(ticket.id)
            if thread is not None and thread != old:
                return thread
            log.warning("telegram agents: the topic of ticket %s is gone; opening a new one",
                        ticket.id)
            self.group.stats.topics_replaced += 1
            fresh = await self.group.services.handoff.ticket(ticket.id) or ticket
            return await self._open_topic(fresh)

    async def _open_topic(self, ticket: Ticket) -> int | None:
        group = self.group
        topic = await group.sender.call(group.chat_id, CreateForumTopic(
            chat_id=group.chat_id, name=topic_name(ticket, group.texts)), counts=False)
        if topic is None:
            log.error("telegram agents: no topic for ticket %s (see the error above)",
                      ticket.id)
            return None
        thread = topic.message_thread_id
        await group.topics.link(ticket.id, thread)
        group.stats.topics_opened += 1
        holder = (await self.members.display(ticket.assigned_to)
                  if ticket.status == "assigned" else "")
        card = SendMessage(chat_id=group.chat_id, message_thread_id=thread,
                           text=card_text(ticket, group.texts, holder),
                           reply_markup=card_keyboard(ticket.id, group.texts))
        if await group.sender.call(group.chat_id, card) is None:
            group.stats.posts_failed += 1
        else:
            group.stats.posts += 1
        return thread

    async def post(self, ticket: Ticket, build: Build, *, create: bool = True) -> bool:
        """Post into the ticket's topic; a deleted topic is replaced (open tickets only) and
        a closed one reopened, then the post is made again. False when it did not arrive."""
        group = self.group
        thread = await self.ensure_topic(ticket, create=create)
        if thread is None:
            return False
        reopened = False
        for attempt in range(2):
            method = build(thread)
            self.watch.watch(method)
            try:
                result = await group.sender.call(group.chat_id, method)
            finally:
                problem = self.watch.outcome(method)
            if result is not None:
                group.stats.posts += 1
                if reopened and not ticket.is_open:
                    await group.sender.call(group.chat_id, CloseForumTopic(
                        chat_id=group.chat_id, message_thread_id=thread), counts=False)
                return True
            if attempt:
                break
            if problem == "closed":
                reopened = await group.sender.call(group.chat_id, ReopenForumTopic(
                    chat_id=group.chat_id, message_thread_id=thread), counts=False) is not None
                if reopened:
                    continue
            if problem == "gone":
                current = await group.services.handoff.ticket(ticket.id) or ticket
                if current.is_open:
                    replaced = await self._replace_topic(current, thread)
                    if replaced is not None:
                        thread = replaced
                        continue
            break
        group.stats.posts_failed += 1
        return False

    async def close_topic(self, ticket: Ticket) -> None:
        """Close the ticket's topic in the group (it stays readable)."""
        thread = await self.group.topics.topic_of(ticket.id)
        if thread is not None:
            await self.group.sender.call(self.group.chat_id, CloseForumTopic(
                chat_id=self.group.chat_id, message_thread_id=thread), counts=False)
