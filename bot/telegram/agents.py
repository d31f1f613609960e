"""Agents in a Telegram forum supergroup (KEFU_TELEGRAM_AGENT_CHAT): one topic per ticket.

Handoff → group. Every bot process follows every handoff event; one of them acts on each
(``store.once``), in order per ticket (a lane per ticket). A new ticket from any channel
gets a topic named ``shopper · intent · summary`` with the context card and the buttons
Take / Hand back / Close / Transfer; then the shopper's lines (photos as photos), left
messages, replies and notes written in the web console, and status lines (taken, moved,
handed back, closed and the rating) follow in that topic. A topic someone deleted is
replaced by a new one (card first) and the post made again; a topic someone closed while
the ticket is open is reopened. Each ticket's posts leave from a queue of their own, in
order; lines that pile up behind the group's flood limit (20 posts a minute) are merged
into one message.

Group → handoff. In a ticket's topic the agent who holds the ticket simply writes: texts
(and photos, which reach a Telegram shopper as photos) go to the shopper through
``HandoffService.agent_message``; anyone else gets a hint to take it first. Commands and
buttons do the rest: /take, /back, /close, /note TEXT (stays in the group),
/transfer @agent|presale|after_sales, and anywhere in the group /online [capacity],
/away, /offline and /help. Presence and capacity live in HandoffService, so the web
console and Telegram share them, and a ticket taken in one shows as taken in the other.

Who is an agent: only updates from the agents' chat are looked at, and only from users
Telegram reports as members of it (getChatMember, cached a minute). A member acts as the
kefu account linked to their Telegram id (``kefu users add amy --telegram-id …``), so amy
in the console and amy in Telegram are one agent; an unlinked member acts as ``tg:<id>``,
recorded as a password-less account so the shopper and the console see their Telegram
name (it cannot log in anywhere).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiogram import Bot, F, Router
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.methods import (
    AnswerCallbackQuery,
    CloseForumTopic,
    CopyMessage,
    CreateForumTopic,
    GetChatMember,
    ReopenForumTopic,
    Response,
    SendDocument,
    SendMessage,
    SendPhoto,
    SendSticker,
    SendVideo,
    SendVoice,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    CallbackQuery,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.types import User as TelegramUser

from bot.auth import UserError
from bot.auth.users import User
from bot.services import Services
from bot.storage import StoreUnavailable
from bot.telegram.context_card import (
    Texts,
    card_keyboard,
    card_text,
    fit,
    parse_callback,
    skill_label,
    topic_name,
    transfer_keyboard,
    units,
)
from bot.telegram.lanes import Lanes
from bot.telegram.outbox import chat_id_of
from bot.telegram.sender import MAX_TEXT, Sender
from bot.telegram.shoppers import SERVICE, content_type
from bot.telegram.topics import TopicStore, make_topic_store
from handoff import (
    SKILLS,
    AgentUnavailable,
    Event,
    HandoffError,
    HandoffUnavailable,
    InvalidRequest,
    NotAssigned,
    NotYourTicket,
    Ticket,
    TicketClosed,
    UnknownAgent,
)

log = logging.getLogger(__name__)

#: How long one process owns an event (every process sees it; one acts).
EVENT_TTL = 3600.0
#: Membership answers and the account list are re-read after this many seconds.
MEMBER_TTL = 60.0
ACCOUNTS_TTL = 15.0
#: Telegram agents' presence is renewed this often (the service forgets it after 120 s).
HEARTBEAT = 45.0
#: A member writing in a topic they do not hold is told so at most this often.
HINT_EVERY = 300.0
MAX_CAPTION = 1024
#: What Telegram answers when a topic is gone (deleted) or closed.
GONE = ("thread not found", "topic_deleted", "topic_id_invalid")
CLOSED = ("topic_closed",)
#: The bridge's text for a shopper's file without caption: ``[photo]``, ``[sticker]`` …
MEDIA_TEXT = re.compile(r"^\[(photo|sticker|voice|video|document|other)\]$")
MEMBER_TYPES = (ChatMemberOwner, ChatMemberAdministrator, ChatMemberMember)
TICKET_COMMANDS = {"take": "take", "back": "back", "close": "close", "transfer": "to"}
PRESENCE_COMMANDS = ("online", "away", "offline")
PLACEHOLDER_HASH = "!telegram-agent-no-password"
#: How a shopper's file is posted into a topic, by the bridge's kind.
FILE_METHODS: dict[str, tuple[Any, str]] = {
    "photo": (SendPhoto, "photo"), "video": (SendVideo, "video"), "voice": (SendVoice, "voice"),
    "document": (SendDocument, "document"), "sticker": (SendSticker, "sticker")}

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


@dataclass(frozen=True)
class Acting:
    """The agent behind a Telegram user: kefu account name and the name people see."""

    name: str
    display: str
    telegram_id: int


@dataclass
class DeskStats:
    """Counters for logs, tests and the benchmark."""

    topics_opened: int = 0
    topics_replaced: int = 0
    posts: int = 0
    posts_failed: int = 0
    relayed: int = 0
    refused: int = 0


def _is_command(message: Message) -> bool:
    return bool(message.text and message.text.startswith("/") and any(
        e.type == "bot_command" and e.offset == 0 for e in message.entities or ()))


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


class AgentDesk:
    """The agents' side of one bot process; the channel starts and stops it."""

    def __init__(self, services: Services, bot: Bot, sender: Sender, chat_id: int, *,
                 topics: TopicStore | None = None, heartbeat: float = HEARTBEAT) -> None:
        if chat_id >= 0:
            raise ValueError("KEFU_TELEGRAM_AGENT_CHAT: the agents' supergroup id, a negative "
                             "number like -1001234567890")
        self.services = services
        self.bot = bot
        self.sender = sender
        self.chat_id = chat_id
        self.topics = topics or make_topic_store(services.backend, chat_id)
        self.texts = Texts(services.brains)
        self.heartbeat = heartbeat
        self.watch = ThreadWatch()
        bot.session.middleware(self.watch)
        self.lanes = Lanes("telegram-topics")
        self.stats = DeskStats()
        self.ready = asyncio.Event()
        self._members: dict[int, tuple[bool, float]] = {}
        self._accounts: tuple[float, dict[int, User], dict[str, User]] | None = None
        self._placeholders: dict[str, str] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._outgoing: dict[str, deque[_Line | Callable[[], Awaitable[object]]]] = {}
        self._flushers: set[asyncio.Task[None]] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe to handoff events now (none published from here on is missed), then
        follow them, check the group and renew Telegram agents' presence in the background."""
        events = self.services.handoff.events()
        try:
            await events.start()
        except Exception as exc:  # Redis down: the follower retries
            log.warning("telegram agents: cannot subscribe to handoff events yet (%s)", exc)
        self._tasks = [asyncio.create_task(self._follow(events), name="telegram-agents"),
                       asyncio.create_task(self._beat(), name="telegram-agents-presence"),
                       asyncio.create_task(self._check_group(), name="telegram-agents-check")]

    async def stop(self, grace: float = 10.0) -> None:
        """Stop following events, finish the posts already queued, close the topic store."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        drained = await self.lanes.close(grace)
        if not (await self._drain(grace) and drained):
            log.warning("telegram agents: posts to topics left undone at shutdown")
        await self.topics.close()

    async def _follow(self, events: Any) -> None:
        delay = 1.0
        while True:
            try:
                async with events:
                    self.ready.set()
                    delay = 1.0
                    async for event in events:
                        if event.ticket_id:
                            self.lanes.submit(event.ticket_id, self._event_job(event))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("telegram agents: handoff events lost (%s); resubscribing in "
                            "%.0fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(30.0, delay * 2)
            events = self.services.handoff.events()

    def _event_job(self, event: Event) -> Callable[[], Any]:
        async def job() -> None:
            try:
                await self.on_event(event)
            except (StoreUnavailable, HandoffUnavailable) as exc:
                log.warning("telegram agents: %s of ticket %s not posted: %s", event.kind,
                            event.ticket_id, exc)
        return job

    async def _check_group(self) -> None:
        """Say clearly at start-up when the bot cannot manage topics in the group."""
        me = await self.sender.call(self._side("checks"),
                                    GetChatMember(chat_id=self.chat_id, user_id=self.bot.id),
                                    counts=False)
        if isinstance(me, ChatMemberOwner) or (
                isinstance(me, ChatMemberAdministrator) and me.can_manage_topics):
            log.info("telegram agents: working in chat %s", self.chat_id)
        else:
            log.error("telegram agents: the bot must be an admin of chat %s (a group with "
                      "Topics on) with the 'Manage topics' right", self.chat_id)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await self.renew_presence()
            except (StoreUnavailable, HandoffUnavailable, HandoffError) as exc:
                log.warning("telegram agents: presence heartbeat failed: %s", exc)
            except Exception:
                log.exception("telegram agents: presence heartbeat failed")

    async def renew_presence(self) -> None:
        """Keep agents who chose their presence in Telegram as they chose it (one process
        per period does it); /offline ends it."""
        period = int(time.time() // self.heartbeat)
        if not await self.services.store.once(f"tg-heartbeat:{self.chat_id}:{period}",
                                              self.heartbeat):
            return
        for name in await self.topics.agents():
            profile = await self.services.handoff.store.get_agent(name)
            if profile is not None and profile.presence != "offline":
                await self.services.handoff.set_presence(name, profile.presence)

    def _side(self, what: str) -> str:
        """A sender lane of its own for calls that must not wait behind the group's posts
        (the group is limited to 20 messages a minute)."""
        return f"{self.chat_id}:{what}"

    # -- handoff events → topics -----------------------------------------------------------

    async def on_event(self, event: Event) -> None:
        """Queue what the event means for the ticket's topic (one process per event)."""
        if event.kind == "presence" or not event.ticket_id:
            return
        if not await self.services.store.once(f"tg-topic:{event.id}", EVENT_TTL):
            return
        ticket = await self.services.handoff.ticket(event.ticket_id)
        if ticket is None:
            return
        kind = event.kind
        data = event.data
        if kind == "ticket_opened":
            self._job(ticket, lambda: self.ensure_topic(ticket))
        elif kind == "shopper_message":
            self._shopper(ticket, str(data.get("text") or ""), data.get("attachment"))
        elif kind == "agent_message":
            text = str(data.get("text") or "")
            if not await self.topics.take_echo(self._echo("msg", ticket.id, event.agent, text)):
                self._line(ticket, self.texts.get(
                    "tg_agent_line", agent_name=await self.display(event.agent), text=text))
        elif kind == "note_added":
            text = str(data.get("text") or "")
            if not await self.topics.take_echo(self._echo("note", ticket.id, event.agent, text)):
                self._line(ticket, self.texts.get(
                    "tg_note_line", agent_name=await self.display(event.agent), text=text),
                    create=False)
        elif kind == "left_message":
            self._line(ticket, self.texts.get(
                "tg_left_message", text=str(data.get("text") or ""),
                contact=str(data.get("contact") or "")))
        elif kind == "ticket_assigned":
            key = "tg_status_auto_assigned" if data.get("auto") else "tg_status_assigned"
            self._line(ticket, self.texts.get(key, agent_name=await self.display(event.agent)))
        elif kind == "ticket_transferred":
            target = (await self.display(event.agent) if event.agent
                      else skill_label(str(data.get("to_skill") or ticket.skill), self.texts))
            by = data.get("by")
            self._line(ticket, self.texts.get(
                "tg_status_transferred", agent_name=await self.display(
                    by if isinstance(by, str) else None), text=target))
        elif kind in ("handed_back", "ticket_closed"):
            key = "tg_status_back" if kind == "handed_back" else "tg_status_closed"
            self._line(ticket, self.texts.get(key, agent_name=await self.display(event.agent)),
                       create=False)
            self._job(ticket, lambda: self._close_topic(ticket))
        elif kind == "rated":
            self._line(ticket, self.texts.get("tg_status_rated", rating=data.get("rating")),
                       create=False)

    # -- the topics' outgoing queue ----------------------------------------------------------

    def _line(self, ticket: Ticket, text: str, *, create: bool = True) -> None:
        """Queue a text line for the ticket's topic (lines waiting together go as one post)."""
        self._enqueue(ticket.id, _Line(ticket, fit(text, MAX_TEXT), create))

    def _job(self, ticket: Ticket, job: Callable[[], Awaitable[object]]) -> None:
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
            chat_id=self.chat_id, message_thread_id=thread, text=text), create=create)

    async def _drain(self, grace: float) -> bool:
        """Wait for the queued posts (up to ``grace`` seconds), then cancel the rest."""
        pending = set(self._flushers)
        if pending:
            _, left = await asyncio.wait(pending, timeout=grace)
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)
            return not left
        return True

    async def ensure_topic(self, ticket: Ticket, *, create: bool = True) -> int | None:
        """The ticket's topic; opened (with its card) when it has none yet and ``create``."""
        thread = await self.topics.topic_of(ticket.id)
        if thread is not None or not create or not ticket.is_open:
            return thread
        async with self.services.store.lock(f"tg-topic:{self.chat_id}:{ticket.id}"):
            thread = await self.topics.topic_of(ticket.id)
            if thread is not None:
                return thread
            return await self._open_topic(ticket)

    async def _replace_topic(self, ticket: Ticket, old: int) -> int | None:
        """The topic was deleted: open a new one, unless another post already did."""
        async with self.services.store.lock(f"tg-topic:{self.chat_id}:{ticket.id}"):
            thread = await self.topics.topic_of(ticket.id)
            if thread is not None and thread != old:
                return thread
            log.warning("telegram agents: the topic of ticket %s is gone; opening a new one",
                        ticket.id)
            self.stats.topics_replaced += 1
            fresh = await self.services.handoff.ticket(ticket.id) or ticket
            return await self._open_topic(fresh)

    async def _open_topic(self, ticket: Ticket) -> int | None:
        topic = await self.sender.call(self.chat_id, CreateForumTopic(
            chat_id=self.chat_id, name=topic_name(ticket, self.texts)), counts=False)
        if topic is None:
            log.error("telegram agents: no topic for ticket %s (see the error above)",
                      ticket.id)
            return None
        thread = topic.message_thread_id
        await self.topics.link(ticket.id, thread)
        self.stats.topics_opened += 1
        holder = (await self.display(ticket.assigned_to)
                  if ticket.status == "assigned" else "")
        card = SendMessage(chat_id=self.chat_id, message_thread_id=thread,
                           text=card_text(ticket, self.texts, holder),
                           reply_markup=card_keyboard(ticket.id, self.texts))
        if await self.sender.call(self.chat_id, card) is None:
            self.stats.posts_failed += 1
        else:
            self.stats.posts += 1
        return thread

    async def post(self, ticket: Ticket, build: Build, *, create: bool = True) -> bool:
        """Post into the ticket's topic; a deleted topic is replaced (open tickets only) and
        a closed one reopened, then the post is made again. False when it did not arrive."""
        thread = await self.ensure_topic(ticket, create=create)
        if thread is None:
            return False
        reopened = False
        for attempt in range(2):
            method = build(thread)
            self.watch.watch(method)
            try:
                result = await self.sender.call(self.chat_id, method)
            finally:
                problem = self.watch.outcome(method)
            if result is not None:
                self.stats.posts += 1
                if reopened and not ticket.is_open:
                    await self.sender.call(self.chat_id, CloseForumTopic(
                        chat_id=self.chat_id, message_thread_id=thread), counts=False)
                return True
            if attempt:
                break
            if problem == "closed":
                reopened = await self.sender.call(self.chat_id, ReopenForumTopic(
                    chat_id=self.chat_id, message_thread_id=thread), counts=False) is not None
                if reopened:
                    continue
            if problem == "gone":
                current = await self.services.handoff.ticket(ticket.id) or ticket
                if current.is_open:
                    replaced = await self._replace_topic(current, thread)
                    if replaced is not None:
                        thread = replaced
                        continue
            break
        self.stats.posts_failed += 1
        return False

    def _shopper(self, ticket: Ticket, text: str, attachment: Any) -> None:
        """A shopper's line; a Telegram shopper's file goes as that file (by file id), with
        the line as its caption. A file Telegram will not take that way goes as the line."""
        line = self.texts.get("tg_shopper_line", customer_name=ticket.shopper_name, text=text)
        if not (isinstance(attachment, str) and attachment and ticket.channel == "telegram"):
            self._line(ticket, line)
            return
        found = MEDIA_TEXT.match(text)
        kind = found.group(1) if found else "photo"  # a caption hides the kind: mostly photos
        caption = fit(line, MAX_CAPTION)

        async def send() -> None:
            posted = kind in FILE_METHODS and await self.post(
                ticket, lambda thread: self._file(kind, thread, attachment, caption))
            if not posted or kind == "sticker":  # a sticker has no caption: the line follows
                await self.post(ticket, lambda thread: SendMessage(
                    chat_id=self.chat_id, message_thread_id=thread, text=fit(line, MAX_TEXT)))

        self._job(ticket, send)

    def _file(self, kind: str, thread: int, file_id: str, caption: str) -> TelegramMethod[Any]:
        method, field = FILE_METHODS[kind]
        extra: dict[str, Any] = {} if kind == "sticker" else {"caption": caption}
        return method(chat_id=self.chat_id, message_thread_id=thread,
                      **{field: file_id}, **extra)

    async def _close_topic(self, ticket: Ticket) -> None:
        thread = await self.topics.topic_of(ticket.id)
        if thread is not None:
            await self.sender.call(self.chat_id, CloseForumTopic(
                chat_id=self.chat_id, message_thread_id=thread), counts=False)

    # -- who is acting -------------------------------------------------------------------------

    async def is_member(self, user_id: int) -> bool:
        """Telegram says the user is in the agents' chat (cached for a minute)."""
        now = time.monotonic()
        cached = self._members.get(user_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        member = await self.sender.call(self._side("members"), GetChatMember(
            chat_id=self.chat_id, user_id=user_id), counts=False)
        if member is None:
            return False  # could not ask: not cached, asked again next time
        ok = isinstance(member, MEMBER_TYPES) or (
            isinstance(member, ChatMemberRestricted) and member.is_member)
        if len(self._members) > 10_000:
            self._members.clear()
        self._members[user_id] = (ok, now + MEMBER_TTL)
        return ok

    async def _account_maps(self) -> tuple[dict[int, User], dict[str, User]]:
        now = time.monotonic()
        if self._accounts is None or self._accounts[0] <= now:
            users = await self.services.users.all()
            by_telegram: dict[int, User] = {}
            for user in sorted(users, key=lambda u: u.name.startswith("tg:")):
                if user.telegram_id and user.telegram_id not in by_telegram:
                    by_telegram[user.telegram_id] = user
            self._accounts = (now + ACCOUNTS_TTL, by_telegram, {u.name: u for u in users})
        return self._accounts[1], self._accounts[2]

    async def agent_of(self, user: TelegramUser | None) -> Acting | None:
        """The agent a Telegram user acts as, or None for bots and non-members."""
        if user is None or user.is_bot:
            return None
        if not await self.is_member(user.id):
            self.stats.refused += 1
            log.info("telegram agents: user %s is not a member of the agents' chat; ignored",
                     user.id)
            return None
        try:
            linked, _ = await self._account_maps()
            account = linked.get(user.id)
            if account is not None:
                return Acting(account.name, account.display_name or account.name, user.id)
            name = f"tg:{user.id}"
            display = user.full_name.strip() or name
            await self._placeholder(name, display)
        except (UserError, StoreUnavailable, OSError) as exc:
            log.error("telegram agents: accounts unreadable (%s); %s ignored", exc, user.id)
            return None
        return Acting(name, display, user.id)

    async def _placeholder(self, name: str, display: str) -> None:
        """A password-less account for an unlinked member, so their Telegram name shows."""
        if self._placeholders.get(name) == display:
            return
        existing = await self.services.users.get(name)
        if existing is None or existing.display_name != display:
            await self.services.users.put(User(
                name=name, role="agent", password_hash=PLACEHOLDER_HASH, display_name=display,
                telegram_id=None))
            self._accounts = None
        self._placeholders[name] = display

    async def display(self, agent: str | None) -> str:
        """The name people see for an agent account."""
        if not agent:
            return ""
        try:
            _, by_name = await self._account_maps()
        except (UserError, StoreUnavailable, OSError):
            return agent
        user = by_name.get(agent)
        return (user.display_name or agent) if user else agent

    @staticmethod
    def _echo(kind: str, ticket_id: str, agent: str | None, text: str) -> str:
        return f"{kind}:{ticket_id}:{agent or ''}:{_digest(text)}"

    # -- the group → handoff -------------------------------------------------------------------

    def router(self) -> Router:
        """The agents' router: only the agents' chat, only messages and button presses."""
        r = Router(name="agents")
        r.message.filter(F.chat.id == self.chat_id)
        r.callback_query.filter(F.message.chat.id == self.chat_id)
        r.message.register(self.on_command, Command(*TICKET_COMMANDS, "note",
                                                    *PRESENCE_COMMANDS, "help"))
        r.message.register(self.on_message)
        r.callback_query.register(self.on_press)
        return r

    def _reply(self, message: Message, text: str) -> None:
        thread = message.message_thread_id if message.is_topic_message else None
        extra: dict[str, Any] = {"message_thread_id": thread} if thread else {}
        self.sender.send_text(self.chat_id, text, **extra)

    async def _topic_ticket(self, message: Message) -> str | None:
        if not message.is_topic_message or not message.message_thread_id:
            return None
        return await self.topics.ticket_of(message.message_thread_id)

    async def on_command(self, message: Message, command: CommandObject) -> None:
        """/take /back /close /transfer /note in a ticket's topic; presence and help anywhere."""
        if message.sender_chat is not None:
            return  # anonymous admins cannot be told apart
        agent = await self.agent_of(message.from_user)
        if agent is None:
            return
        name = command.command.lower()
        args = (command.args or "").strip()
        if name == "help":
            self._reply(message, self.texts.get("tg_help"))
            return
        if name in PRESENCE_COMMANDS:
            self._reply(message, await self.set_presence(agent, name, args))
            return
        ticket_id = await self._topic_ticket(message)
        if ticket_id is None:
            self._reply(message, self.texts.get("tg_hint_not_in_topic"))
            return
        hint: str | None
        if name == "note":
            hint = await self.note(agent, ticket_id, args)
        elif name == "transfer" and not args:
            hint = await self.offer_transfer(agent, ticket_id, message.message_thread_id)
        else:
            hint = await self.act(agent, ticket_id, TICKET_COMMANDS[name], args)
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
        agent = await self.agent_of(message.from_user)
        if agent is None:
            return
        ticket = await self.services.handoff.ticket(ticket_id)
        if ticket is None:
            return
        if not ticket.is_open or ticket.status != "assigned" or ticket.assigned_to != agent.name:
            if await self.services.store.once(f"tg-hint:{ticket.id}:{agent.telegram_id}",
                                              HINT_EVERY):
                holder = await self.display(ticket.assigned_to) if ticket.assigned_to else ""
                self._reply(message, self.texts.get("tg_hint_closed") if not ticket.is_open
                            else self.texts.get("tg_hint_take_first", agent_name=holder
                                                if ticket.status == "assigned" else ""))
            return
        relayed = await self._relay_media(message, ticket)
        if relayed is None:
            return
        text, shown_in = relayed
        key = self._echo("msg", ticket.id, agent.name, text)
        await self.topics.expect_echo(key)
        try:
            await self.services.handoff.agent_message(ticket.id, agent.name, text,
                                                      shown_in=shown_in)
        except (HandoffError, HandoffUnavailable) as exc:
            await self.topics.take_echo(key)
            self._reply(message, self._hint(exc, ticket))
            return
        self.stats.relayed += 1

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
        channel, _, chat = ticket.conversation.partition(":")
        shown_in = None
        if channel == "telegram" and chat:
            target = chat_id_of(chat)
            sent: asyncio.Future[Any]
            if kind == "photo" and message.photo:
                sent = self.sender.submit(target, SendPhoto(chat_id=target,
                                                            photo=message.photo[-1].file_id,
                                                            caption=caption or None))
            else:  # the copy keeps the caption
                sent = self.sender.submit(target, CopyMessage(
                    chat_id=target, from_chat_id=self.chat_id, message_id=message.message_id))
            # If Telegram refuses the file (too large, a kind the chat does not accept …),
            # the shopper still learns that something was sent, and its caption.
            instead = self.texts.get(f"{key}_failed", text=caption)
            if ticket.assigned_to:  # headed by the agent's name, as the outbox heads lines
                instead = f"{await self.display(ticket.assigned_to)}: {instead}"
            sent.add_done_callback(partial(self._media_refused, target, instead))
            shown_in = "telegram"
        return self.texts.get(key, text=caption), shown_in

    def _media_refused(self, target: int | str, text: str, sent: asyncio.Future[Any]) -> None:
        """A dropped media send (the sender logged why) is replaced by a text line."""
        if not sent.cancelled() and sent.result() is None:
            self.sender.send_text(target, text)

    async def on_press(self, query: CallbackQuery) -> None:
        """The card's buttons and the transfer choices; anything else is answered and dropped."""
        parsed = parse_callback(query.data)
        hint: str | None = None
        agent = await self.agent_of(query.from_user) if parsed is not None else None
        if parsed is not None and agent is not None:
            action, ticket_id, argument = parsed
            message = query.message
            topical = message is not None and getattr(message, "is_topic_message", False)
            thread = getattr(message, "message_thread_id", None) if topical else None
            if action == "xfer":
                hint = await self.offer_transfer(agent, ticket_id, thread)
            else:
                hint = await self.act(agent, ticket_id, action, argument)
        self.sender.submit(self._side("answers"), AnswerCallbackQuery(
            callback_query_id=query.id, text=fit(hint, 190) if hint else None,
            show_alert=bool(hint)), counts=False)

    # -- actions (commands and buttons alike) -------------------------------------------------

    async def act(self, agent: Acting, ticket_id: str, action: str, argument: str = ""
                  ) -> str | None:
        """Take, hand back, close or transfer; a hint for the agent when it did not happen."""
        handoff = self.services.handoff
        try:
            if action == "take":
                taken = await handoff.claim(ticket_id, agent.name)
                if taken is None:
                    ticket = await handoff.ticket(ticket_id)
                    if ticket is not None and not ticket.is_open:
                        return self.texts.get("tg_hint_closed")
                    if ticket is not None and ticket.status == "assigned":
                        return self.texts.get("tg_hint_taken",
                                              agent_name=await self.display(ticket.assigned_to))
                    profile = await handoff.agent(agent.name)
                    return self.texts.get("tg_hint_full", capacity=profile.capacity
                                          if profile else handoff.default_capacity)
            elif action == "back":
                await handoff.hand_back(ticket_id, agent.name)
            elif action == "close":
                await handoff.close(ticket_id, agent.name)
            elif action == "to":
                target = argument.strip().split()[0] if argument.strip() else ""
                if target in SKILLS:
                    await handoff.transfer(ticket_id, agent.name, to_skill=target)
                elif target.lstrip("@"):
                    await handoff.transfer(ticket_id, agent.name, to_agent=target.lstrip("@"))
                else:
                    return self.texts.get("tg_transfer_usage")
            else:
                return None
        except HandoffError as exc:
            return self._hint(exc, await self._quiet_ticket(ticket_id), argument)
        except (HandoffUnavailable, StoreUnavailable) as exc:
            log.warning("telegram agents: %s of %s failed: %s", action, ticket_id, exc)
            return self.texts.get("tg_hint_error")
        return None

    async def _quiet_ticket(self, ticket_id: str) -> Ticket | None:
        try:
            return await self.services.handoff.ticket(ticket_id)
        except (HandoffUnavailable, HandoffError):
            return None

    def _hint(self, exc: Exception, ticket: Ticket | None, argument: str = "") -> str:
        holder = ticket.assigned_to if ticket is not None and ticket.status == "assigned" else ""
        if isinstance(exc, TicketClosed):
            return self.texts.get("tg_hint_closed")
        if isinstance(exc, (NotAssigned, NotYourTicket)):
            return self.texts.get("tg_hint_not_yours", agent_name=holder or "")
        if isinstance(exc, AgentUnavailable):
            return self.texts.get("tg_hint_unavailable", agent_name=argument.lstrip("@"))
        if isinstance(exc, UnknownAgent):
            return self.texts.get("tg_hint_unknown_agent", agent_name=argument.lstrip("@"))
        if isinstance(exc, InvalidRequest) and argument:
            return self.texts.get("tg_transfer_usage")
        log.info("telegram agents: action refused: %s", exc)
        return self.texts.get("tg_hint_error")

    async def note(self, agent: Acting, ticket_id: str, text: str) -> str | None:
        """An internal note: it stays in the group and is recorded on the ticket."""
        if not text:
            return self.texts.get("tg_note_usage")
        key = self._echo("note", ticket_id, agent.name, text)
        await self.topics.expect_echo(key)
        try:
            await self.services.handoff.note(ticket_id, agent.name, text[:2000])
        except (HandoffError, HandoffUnavailable) as exc:
            await self.topics.take_echo(key)
            return self._hint(exc, await self._quiet_ticket(ticket_id))
        return None

    async def offer_transfer(self, agent: Acting, ticket_id: str, thread: int | None
                             ) -> str | None:
        """Post the choices: the two skill queues and the online agents with a free seat."""
        if thread is None:
            return self.texts.get("tg_hint_not_in_topic")
        try:
            agents = [a for a in await self.services.handoff.agents()
                      if a.presence == "online" and a.free > 0 and a.name != agent.name]
        except (HandoffUnavailable, HandoffError) as exc:
            log.warning("telegram agents: no agent list for a transfer: %s", exc)
            agents = []
        people = [(a.name, await self.display(a.name)) for a in agents[:10]]
        markup: InlineKeyboardMarkup = transfer_keyboard(ticket_id, self.texts, people)
        self.sender.submit(self.chat_id, SendMessage(
            chat_id=self.chat_id, message_thread_id=thread,
            text=self.texts.get("tg_transfer_ask"), reply_markup=markup))
        return None

    async def set_presence(self, agent: Acting, presence: str, args: str) -> str:
        """/online [capacity], /away, /offline: the same presence the console sets."""
        capacity: int | None = None
        if presence == "online" and args:
            try:
                capacity = int(args.split()[0])
            except ValueError:
                capacity = None
            if capacity is not None and not 0 <= capacity <= 100:
                capacity = None
        try:
            saved = await self.services.handoff.set_presence(agent.name, presence,
                                                             capacity=capacity)
            await self.topics.add_agent(agent.name)
        except (HandoffError, HandoffUnavailable, StoreUnavailable) as exc:
            log.warning("telegram agents: presence of %s not set: %s", agent.name, exc)
            return self.texts.get("tg_hint_error")
        return self.texts.get("tg_presence", agent_name=agent.display, presence=saved.presence,
                              capacity=saved.capacity, count=saved.active)
