"""Handoff events → the tickets' topics in the agents' group.

Every bot process follows every handoff event; one of them acts on each (``store.once``),
in order per ticket (a lane per ticket). A new ticket from any channel gets a topic named
``shopper · intent · summary`` with the context card and the buttons Take / Hand back /
Close / Transfer; then the shopper's lines (photos as photos), left messages, replies and
notes written in the web console, and status lines (taken, moved, handed back, closed and
the rating) follow in that topic. What an agent wrote in the group itself is not posted
back (its echo mark is taken instead).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from aiogram.methods import (
    SendDocument,
    SendMessage,
    SendPhoto,
    SendSticker,
    SendVideo,
    SendVoice,
    TelegramMethod,
)

from bot.storage import StoreUnavailable
from bot.telegram.agents.group import AgentGroup, echo_key
from bot.telegram.agents.membership import Membership
from bot.telegram.agents.topic_posts import TopicPoster
from bot.telegram.context_card import fit, skill_label
from bot.telegram.lanes import Lanes
from bot.telegram.sender import MAX_TEXT
from handoff import Event, HandoffUnavailable, Ticket

log = logging.getLogger(__name__)

#: How long one process owns an event (every process sees it; one acts).
EVENT_TTL = 3600.0
MAX_CAPTION = 1024
#: The bridge's text for a shopper's file without caption: ``[photo]``, ``[sticker]`` …
MEDIA_TEXT = re.compile(r"^\[(photo|sticker|voice|video|document|other)\]$")
#: How a shopper's file is posted into a topic, by the bridge's kind.
FILE_METHODS: dict[str, tuple[Any, str]] = {
    "photo": (SendPhoto, "photo"), "video": (SendVideo, "video"), "voice": (SendVoice, "voice"),
    "document": (SendDocument, "document"), "sticker": (SendSticker, "sticker")}


class EventsToTopics:
    """Follows the handoff events and queues what each means for its ticket's topic."""

    def __init__(self, group: AgentGroup, members: Membership, posts: TopicPoster) -> None:
        self.group = group
        self.members = members
        self.posts = posts
        self.lanes = Lanes("telegram-topics")

    async def accept(self, event: Event) -> None:
        """From the process's event feed: queue the event on its ticket's lane."""
        if event.ticket_id:
            self.lanes.submit(event.ticket_id, self._event_job(event))

    def _event_job(self, event: Event) -> Callable[[], Any]:
        async def job() -> None:
            try:
                await self.on_event(event)
            except (StoreUnavailable, HandoffUnavailable) as exc:
                log.warning("telegram agents: %s of ticket %s not posted: %s", event.kind,
                            event.ticket_id, exc)
        return job

    async def on_event(self, event: Event) -> None:
        """Queue what the event means for the ticket's topic (one process per event)."""
        if event.kind == "presence" or not event.ticket_id:
            return
        group = self.group
        if not await group.services.store.once(f"tg-topic:{event.id}", EVENT_TTL):
            return
        ticket = await group.services.handoff.ticket(event.ticket_id)
        if ticket is None:
            return
        posts, texts, display = self.posts, group.texts, self.members.display
        kind = event.kind
        data = event.data
        if kind == "ticket_opened":
            posts.job(ticket, lambda: posts.ensure_topic(ticket))
        elif kind == "shopper_message":
            self._shopper(ticket, str(data.get("text") or ""), data.get("attachment"))
        elif kind == "agent_message":
            text = str(data.get("text") or "")
            if not await group.topics.take_echo(echo_key("msg", ticket.id, event.agent, text)):
                posts.line(ticket, texts.get(
                    "tg_agent_line", agent_name=await display(event.agent), text=text))
        elif kind == "note_added":
            text = str(data.get("text") or "")
            if not await group.topics.take_echo(echo_key("note", ticket.id, event.agent, text)):
                posts.line(ticket, texts.get(
                    "tg_note_line", agent_name=await display(event.agent), text=text),
                    create=False)
        elif kind == "left_message":
            posts.line(ticket, texts.get(
                "tg_left_message", text=str(data.get("text") or ""),
                contact=str(data.get("contact") or "")))
        elif kind == "ticket_assigned":
            key = "tg_status_auto_assigned" if data.get("auto") else "tg_status_assigned"
            posts.line(ticket, texts.get(key, agent_name=await display(event.agent)))
        elif kind == "ticket_transferred":
            target = (await display(event.agent) if event.agent
                      else skill_label(str(data.get("to_skill") or ticket.skill), texts))
            by = data.get("by")
            posts.line(ticket, texts.get(
                "tg_status_transferred", agent_name=await display(
                    by if isinstance(by, str) else None), text=target))
        elif kind in ("handed_back", "ticket_closed"):
            key = "tg_status_back" if kind == "handed_back" else "tg_status_closed"
            posts.line(ticket, texts.get(key, agent_name=await display(event.agent)),
                       create=False)
            posts.job(ticket, lambda: posts.close_topic(ticket))
        elif kind == "rated":
            posts.line(ticket, texts.get("tg_status_rated", rating=data.get("rating")),
                       create=False)

    def _shopper(self, ticket: Ticket, text: str, attachment: Any) -> None:
        """A shopper's line; a Telegram shopper's file goes as that file (by file id), with
        the line as its caption. A file Telegram will not take that way goes as the line."""
        posts, chat_id = self.posts, self.group.chat_id
        line = self.group.texts.get("tg_shopper_line", customer_name=ticket.shopper_name,
                                    text=text)
        if not (isinstance(attachment, str) and attachment and ticket.channel == "telegram"):
            posts.line(ticket, line)
            return
        found = MEDIA_TEXT.match(text)
        kind = found.group(1) if found else "photo"  # a caption hides the kind: mostly photos
        caption = fit(line, MAX_CAPTION)

        async def send() -> None:
            posted = kind in FILE_METHODS and await posts.post(
                ticket, lambda thread: self._file(kind, thread, attachment, caption))
            if not posted or kind == "sticker":  # a sticker has no caption: the line follows
                await posts.post(ticket, lambda thread: SendMessage(
                    chat_id=chat_id, message_thread_id=thread, text=fit(line, MAX_TEXT)))

        posts.job(ticket, send)

    def _file(self, kind: str, thread: int, file_id: str, caption: str) -> TelegramMethod[Any]:
        method, field = FILE_METHODS[kind]
        extra: dict[str, Any] = {} if kind == "sticker" else {"caption": caption}
        return method(chat_id=self.group.chat_id, message_thread_id=thread,
                      **{field: file_id}, **extra)
