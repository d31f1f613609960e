"""The agents' group → handoff: the router for messages, commands and button presses.

In a ticket's topic the agent who holds the ticket simply writes: texts (and photos, which
reach a Telegram shopper as photos) go to the shopper through
``HandoffService.agent_message``; anyone else gets a hint to take it first. Commands and
buttons do the rest: /take, /back, /close, /note TEXT (stays in the group),
/transfer @agent|presale|after_sales, and anywhere in the group /online [capacity], /away,
/offline and /help. Tickets and presence live in HandoffService, so a ticket taken in the
web console shows as taken here and the other way round. Only updates from the agents' chat
are looked at, and only from its members (:mod:`~bot.telegram.agents.membership`).
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.methods import AnswerCallbackQuery, CopyMessage, SendPhoto
from aiogram.types import CallbackQuery, Message

from bot.telegram.agents.actions import TicketActions
from bot.telegram.agents.group import AgentGroup, echo_key
from bot.telegram.agents.membership import Membership
from bot.telegram.agents.presence import Presence
from bot.telegram.context_card import fit, parse_callback
from bot.telegram.outbox import chat_id_of
from bot.telegram.shoppers import SERVICE, content_type
from handoff import HandoffError, HandoffUnavailable, Ticket

#: A member writing in a topic they do not hold is told so at most this often.
HINT_EVERY = 300.0
TICKET_COMMANDS = {"take": "take", "back": "back", "close": "close", "transfer": "to"}
PRESENCE_COMMANDS = ("online", "away", "offline")


def _is_command(message: Message) -> bool:
    return bool(message.text and message.text.startswith("/") and any(
        e.type == "bot_command" and e.offset == 0 for e in message.entities or ()))


class GroupHandlers:
    """Handlers of the agents' chat; :meth:`router` registers them."""

    def __init__(self, group: AgentGroup, members: Membership, actions: TicketActions,
                 presence: Presence) -> None:
        self.group = group
        self.members = members
        self.actions = actions
        self.presence = presence

    def router(self) -> Router:
        """The agents' router: only the agents' chat, only messages and button presses."""
        r = Router(name="agents")
        r.message.filter(F.chat.id == self.group.chat_id)
        r.callback_query.filter(F.message.chat.id == self.group.chat_id)
        r.message.register(self.on_command, Command(*TICKET_COMMANDS, "note",
                                                    *PRESENCE_COMMANDS, "help"))
        r.message.register(self.on_message)
        r.callback_query.register(self.on_press)
        return r

    def _reply(self, message: Message, text: str) -> None:
        thread = message.message_thread_id if message.is_topic_message else None
        extra: dict[str, Any] = {"message_thread_id": thread} if thread else {}
        self.group.sender.send_text(self.group.chat_id, text, **extra)

    async def _topic_ticket(self, message: Message) -> str | None:
        if not message.is_topic_message or not message.message_thread_id:
            return None
        return await self.group.topics.ticket_of(message.message_thread_id)

    async def on_command(self, message: Message, command: CommandObject) -> None:
        """/take /back /close /transfer /note in a ticket's topic; presence and help anywhere."""
        if message.sender_chat is not None:
            return  # anonymous admins cannot be told apart
        agent = await self.members.agent_of(message.from_user)
        if agent is None:
            return
        name = command.command.lower()
        args = (command.args or "").strip()
        if name == "help":
            self._reply(message, self.group.texts.get("tg_help"))
            return
        if name in PRESENCE_COMMANDS:
            self._reply(message, await self.presence.set(agent, name, args))
            return
        ticket_id = await self._topic_ticket(message)
        if ticket_id is None:
            self._reply(message, self.group.texts.get("tg_hint_not_in_topic"))
            return
        hint: str | None
        if name == "note":
            hint = await self.actions.note(agent, ticket_id, args)
        elif name == "transfer" and not args:
            hint = await self.actions.offer_transfer(agent, ticket_id,
                                                     message.message_thread_id)
        else:
            hint = await self.actions.act(agent, ticket_id, TICKET_COMMANDS[name], args)
        if hint:
            self._reply(message, hint)

    async def on_message(self, message: Message) -> None:
        """A message in a ticket's topic: to the shopper when the writer holds the ticket."""
        if message.sender_chat is not None or content_type(message) in SERVICE:
            return
        if message.from_user is None or message.from_user.is_bot or _is_command(message):
            return  # a command that is not ours (or for another bot) never reaches a shopper
        ticket_id = await self._topic_ticket(message)
        if ticket_id is None:
            return  # the General topic or the agents' own topics: their business
        agent = await self.members.agent_of(message.from_user)
        if agent is None:
            return
        services, texts = self.group.services, self.group.texts
        ticket = await services.handoff.ticket(ticket_id)
        if ticket is None:
            return
        if not ticket.is_open or ticket.status != "assigned" or ticket.assigned_to != agent.name:
            if await services.store.once(f"tg-hint:{ticket.id}:{agent.telegram_id}",
                                         HINT_EVERY):
                holder = (await self.members.display(ticket.assigned_to)
                          if ticket.assigned_to else "")
                self._reply(message, texts.get("tg_hint_closed") if not ticket.is_open
                            else texts.get("tg_hint_take_first", agent_name=holder
                                           if ticket.status == "assigned" else ""))
            return
        relayed = await self._relay_media(message, ticket)
        if relayed is None:
            return
        text, shown_in = relayed
        key = echo_key("msg", ticket.id, agent.name, text)
        await self.group.topics.expect_echo(key)
        try:
            await services.handoff.agent_message(ticket.id, agent.name, text,
                                                 shown_in=shown_in)
        except (HandoffError, HandoffUnavailable) as exc:
            await self.group.topics.take_echo(key)
            self._reply(message, self.actions.hint(exc, ticket))
            return
        self.group.stats.relayed += 1

    async def _relay_media(self, message: Message, ticket: Ticket
                           ) -> tuple[str, str | None] | None:
        """The text to record for an agent's message, and the shopper channel that already
        showed it: a photo or file is sent to a Telegram shopper as itself (with its
        caption), so the recorded media line (``tg_agent_photo``) is not sent after it; web
        shoppers get the text only."""
        if message.text:
            return message.text, None
        kind = content_type(message)
        caption = message.caption or ""
        if kind not in ("photo", "document", "video", "animation", "voice", "audio", "sticker",
                        "video_note"):
            return None  # polls, locations …: nothing a shopper can be sent as is
        key = "tg_agent_photo" if kind == "photo" else "tg_agent_file"
        sender, texts = self.group.sender, self.group.texts
        channel, _, chat = ticket.conversation.partition(":")
        shown_in = None
        if channel == "telegram" and chat:
            target = chat_id_of(chat)
            sent: asyncio.Future[Any]
            if kind == "photo" and message.photo:
                sent = sender.submit(target, SendPhoto(chat_id=target,
                                                       photo=message.photo[-1].file_id,
                                                       caption=caption or None))
            else:  # the copy keeps the caption
                sent = sender.submit(target, CopyMessage(
                    chat_id=target, from_chat_id=self.group.chat_id,
                    message_id=message.message_id))
            # If Telegram refuses the file (too large, a kind the chat does not accept …),
            # the shopper still learns that something was sent, and its caption.
            instead = texts.get(f"{key}_failed", text=caption)
            if ticket.assigned_to:  # headed by the agent's name, as the outbox heads lines
                instead = f"{await self.members.display(ticket.assigned_to)}: {instead}"
            sent.add_done_callback(partial(self._media_refused, target, instead))
            shown_in = "telegram"
        return texts.get(key, text=caption), shown_in

    def _media_refused(self, target: int | str, text: str, sent: asyncio.Future[Any]) -> None:
        """A dropped media send (the sender logged why) is replaced by a text line."""
        if not sent.cancelled() and sent.result() is None:
            self.group.sender.send_text(target, text)

    async def on_press(self, query: CallbackQuery) -> None:
        """The card's buttons and the transfer choices; anything else is answered and dropped."""
        parsed = parse_callback(query.data)
        hint: str | None = None
        agent = await self.members.agent_of(query.from_user) if parsed is not None else None
        if parsed is not None and agent is not None:
            action, ticket_id, argument = parsed
            message = query.message
            topical = message is not None and getattr(message, "is_topic_message", False)
            thread = getattr(message, "message_thread_id", None) if topical else None
            if action == "xfer":
                hint = await self.actions.offer_transfer(agent, ticket_id, thread)
            else:
                hint = await self.actions.act(agent, ticket_id, action, argument)
        self.group.sender.submit(self.group.side("answers"), AnswerCallbackQuery(
            callback_query_id=query.id, text=fit(hint, 190) if hint else None,
            show_alert=bool(hint)), counts=False)
