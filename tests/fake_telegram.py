"""A fake Telegram Bot API server on loopback: the bot talks real HTTP to it, unpatched.

Start one, point aiogram at it (``KEFU_TELEGRAM_API_URL`` = :attr:`FakeTelegram.url`, or
``AiohttpSession(api=TelegramAPIServer.from_base(fake.url))``), play shoppers by pushing
updates, and read what the bot called::

    async with FakeTelegram() as tg:
        tg.text(1001, "你好")                      # a shopper (chat 1001) writes
        texts = await tg.wait_texts(1001, 2)      # the welcome and the answer
        tg.press(1001, "尺码推荐")                  # press a button the bot sent
        tg.flood(retry_after=2)                   # the next sendMessage gets 429
        tg.block(1002)                            # chat 1002 blocked the bot: 403

Speaks: getMe, getUpdates (long polling with offset/limit/timeout/allowed_updates, fed
from a queue the test controls), setWebhook/deleteWebhook/getWebhookInfo (with a set
webhook, pushed updates are POSTed to it with the secret header, in order), sendMessage,
sendPhoto, copyMessage, forwardMessage, sendChatAction, editMessageText,
editMessageReplyMarkup, deleteMessage, answerCallbackQuery, getChat, and for forums
createForumTopic, editForumTopic, closeForumTopic, reopenForumTopic, deleteForumTopic,
getChatMember. Errors can be scripted per method and chat (:meth:`fail`), and optional
flood limits answer 429 like Telegram when a bot sends too fast.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.conftest import free_port

log = logging.getLogger(__name__)

BOT_ID = 7000001
TOKEN = f"{BOT_ID}:FAKE-token-for-kefu-tests"
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "小铺客服", "username": "kefu_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False}

#: Form fields that carry JSON, integers, or booleans (aiogram sends strings for all).
JSON_FIELDS = {"reply_markup", "allowed_updates", "entities", "caption_entities",
               "reply_parameters", "link_preview_options", "commands", "scope", "media"}
INT_FIELDS = {"chat_id", "from_chat_id", "message_id", "message_thread_id", "offset", "limit",
              "timeout", "user_id", "icon_color", "cache_time", "max_connections"}
BOOL_FIELDS = {"drop_pending_updates", "disable_notification", "protect_content",
               "show_alert", "is_anonymous"}
#: Methods that post a message to a chat (counted by the flood limits).
SENDING = {"sendMessage", "sendPhoto", "copyMessage", "forwardMessage", "sendDocument",
           "sendSticker", "sendVoice", "sendVideo", "sendMediaGroup"}
UPDATE_TYPES = ("message", "edited_message", "channel_post", "edited_channel_post",
                "business_connection", "business_message", "edited_business_message",
                "deleted_business_messages", "message_reaction", "message_reaction_count",
                "inline_query", "chosen_inline_result", "callback_query", "shipping_query",
                "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer",
                "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
                "removed_chat_boost")
BLOCKED = "Forbidden: bot was blocked by the user"
THREAD_NOT_FOUND = "Bad Request: message thread not found"


class ApiError(Exception):
    """Answered as ``{"ok": false, ...}`` with the code as HTTP status."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass
class Call:
    """One request the bot made; ``status`` is the HTTP status the fake answered."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")


@dataclass
class Failure:
    """A scripted error: the next ``times`` matching calls get it (``times=-1``: always)."""

    method: str
    code: int
    description: str
    chat_id: int | str | None = None
    retry_after: int | None = None
    times: int = 1

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        return (self.times != 0 and self.method == method
                and (self.chat_id is None or params.get("chat_id") == self.chat_id))


@dataclass
class FloodRules:
    """Telegram-like limits (``FakeTelegram(flood_limits=True)``): messages per window."""

    private: tuple[int, float] = (4, 1.0)
    group: tuple[int, float] = (20, 60.0)
    overall: tuple[int, float] = (30, 1.0)


@dataclass
class _Pending:
    update: dict[str, Any]
    forced: bool = False


@dataclass
class FakeTelegram:
    """The fake server; see the module docstring. ``flood_limits=True`` turns on 429s for senders
    that go over :class:`FloodRules`."""

    token: str = TOKEN
    flood_limits: bool = False
    rules: FloodRules = field(default_factory=FloodRules)
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free one

    def __post_init__(self) -> None:
        self.calls: list[Call] = []
        self.failures: list[Failure] = []
        self.pushed_at: dict[int, float] = {}
        self.delivered_at: dict[int, float] = {}
        self.allowed_updates: list[str] | None = None
        self.webhook: dict[str, Any] | None = None
        self.webhook_responses: list[int] = []
        self.messages: dict[tuple[Any, Any], dict[str, Any]] = {}
        self.forums: dict[int, str] = {}
        self.topics: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        self.members: dict[tuple[int, int], dict[str, Any]] = {}
        self._sent_to: dict[Any, list[Call]] = {}
        self._chat_events: dict[Any, asyncio.Event] = {}
        self._pending: deque[_Pending] = deque()
        self._arrived = asyncio.Event()
        self._activity = asyncio.Event()
        self._update_ids = itertools.count(100_001)
        self._message_ids: dict[Any, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1))
        self._thread_ids = itertools.count(101)
        self._callback_ids = itertools.count(900_001)
        self._sent_log: dict[Any, deque[float]] = defaultdict(deque)
        self._overall_log: deque[float] = deque()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._http: aiohttp.ClientSession | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL for ``TelegramAPIServer.from_base`` / KEFU_TELEGRAM_API_URL."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> FakeTelegram:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._endpoint)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = self.port or free_port()
        await web.TCPSite(self._runner, self.host, self.port).start()
        return self

    async def close(self) -> None:
        self._closing = True
        self._arrived.set()  # long polls in progress answer now
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            await asyncio.gather(self._webhook_task, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- shoppers: making updates ---------------------------------------------------------

    @staticmethod
    def user(user_id: int, first_name: str = "小明", last_name: str | None = None,
             language_code: str = "zh-hans") -> dict[str, Any]:
        user = {"id": user_id, "is_bot": False, "first_name": first_name,
                "language_code": language_code}
        if last_name:
            user["last_name"] = last_name
        return user

    def chat(self, chat_id: int | str) -> dict[str, Any]:
        """A chat object: positive ids are private chats, negative ones supergroups."""
        if isinstance(chat_id, int) and chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "小明"}
        chat: dict[str, Any] = {"id": chat_id, "type": "supergroup",
                                "title": self.forums.get(chat_id, "群") if isinstance(
                                    chat_id, int) else "群"}
        if chat_id in self.forums:
            chat["is_forum"] = True
        return chat

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def push(self, *updates: Any, force: bool = False) -> None:
        """Queue raw updates (anything JSON, garbage included) for getUpdates or the webhook.
        ``force`` hands an update out again even though its id was confirmed (a duplicate
        delivery, which Telegram does after lost webhook answers)."""
        now = time.monotonic()
        for update in updates:
            uid = update.get("update_id") if isinstance(update, dict) else None
            if isinstance(uid, int):
                self.pushed_at.setdefault(uid, now)
            if self.webhook is not None:
                self._webhook_queue.put_nowait(update)
            else:
                self._pending.append(_Pending(update, force))
        self._arrived.set()

    def _message(self, chat_id: int, user: dict[str, Any] | None, **content: Any) -> dict[str, Any]:
        message_id = next(self._message_ids[chat_id])
        message = {"message_id": message_id, "from": user or self.user(chat_id),
                   "chat": self.chat(chat_id), "date": int(time.time()), **content}
        self.messages[(chat_id, message_id)] = message
        return message

    def text(self, chat_id: int, text: str, *, user: dict[str, Any] | None = None,
             **extra: Any) -> dict[str, Any]:
        """A shopper's text message (``/start`` included); returns the pushed update."""
        content: dict[str, Any] = {"text": text, **extra}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(command)}]
        update = {"update_id": self.next_update_id(),
                  "message": self._message(chat_id, user, **content)}
        self.push(update)
        return update

    def media(self, chat_id: int, kind: str, *, caption: str | None = None,
              user: dict[str, Any] | None = None) -> dict[str, Any]:
        """A photo, sticker, voice, video, video_note, audio, animation or document."""
        file = {"file_id": f"{kind}-file-{next(self._update_ids)}",
                "file_unique_id": f"u{kind}{chat_id}"}
        shapes: dict[str, Any] = {
            "photo": [{**file, "width": 90, "height": 90, "file_id": file["file_id"] + "-s"},
                      {**file, "width": 1280, "height": 1280}],
            "sticker": {**file, "type": "regular", "width": 512, "height": 512,
                        "is_animated": False, "is_video": False, "emoji": "😊"},
            "voice": {**file, "duration": 3, "mime_type": "audio/ogg"},
            "audio": {**file, "duration": 180, "title": "歌"},
            "video": {**file, "width": 640, "height": 360, "duration": 8},
            "video_note": {**file, "length": 240, "duration": 5},
            "animation": {**file, "width": 320, "height": 240, "duration": 2},
            "document": {**file, "file_name": "订单截图.pdf", "mime_type": "application/pdf"},
        }
        content: dict[str, Any] = {kind: shapes[kind]}
        if kind == "animation":
            content["document"] = shapes["document"]
        if caption:
            content["caption"] = caption
        update = {"update_id": self.next_update_id(),
                  "message": self._message(chat_id, user, **content)}
        self.push(update)
        return update

    def edit(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        """The shopper edits an earlier message."""
        original = self.messages[(chat_id, message_id)]
        edited = {**original, "text": text, "edit_date": int(time.time())}
        update = {"update_id": self.next_update_id(), "edited_message": edited}
        self.push(update)
        return update

    def press(self, chat_id: int, button: str, *, message_id: int | None = None,
              user: dict[str, Any] | None = None) -> dict[str, Any]:
        """Press the button titled ``button`` on the latest bot message to ``chat_id`` that
        has one (or on ``message_id``): a callback query with that button's data."""
        candidates = ([self.messages[(chat_id, message_id)]] if message_id is not None else
                      [m for (c, _), m in reversed(self.messages.items())
                       if c == chat_id and m.get("from", {}).get("id") == BOT_ID])
        for message in candidates:
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for b in row:
                    if b.get("text") == button:
                        update = {"update_id": self.next_update_id(), "callback_query": {
                            "id": str(next(self._callback_ids)),
                            "from": user or self.user(chat_id),
                            "message": message, "chat_instance": f"ci{chat_id}",
                            "data": b.get("callback_data")}}
                        self.push(update)
                        return update
        raise AssertionError(f"no button {button!r} in chat {chat_id}")

    # -- what the bot did -----------------------------------------------------------------

    def called(self, method: str | None = None, chat_id: Any = None) -> list[Call]:
        return [c for c in self.calls if (method is None or c.method == method)
                and (chat_id is None or c.chat_id == chat_id)]

    def sent_calls(self, chat_id: Any) -> list[Call]:
        """The successful sendMessage calls to ``chat_id``, oldest first (indexed: cheap)."""
        return self._sent_to.get(chat_id, [])

    def sent(self, chat_id: Any = None) -> list[dict[str, Any]]:
        """Messages the bot sent successfully (sendMessage), oldest first."""
        if chat_id is not None:
            return [c.result for c in self.sent_calls(chat_id)]
        return [c.result for c in self.called("sendMessage") if c.ok]

    def texts(self, chat_id: Any) -> list[str]:
        return [m.get("text", "") for m in self.sent(chat_id)]

    async def wait_until(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until ``predicate()`` holds (checked after every call the bot makes);
        TimeoutError after ``within`` seconds."""
        deadline = time.monotonic() + within
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("condition not met in time")
            self._activity.clear()
            try:
                await asyncio.wait_for(self._activity.wait(), min(remaining, 0.2))
            except TimeoutError:
                pass

    async def wait_texts(self, chat_id: Any, n: int, within: float = 10.0) -> list[str]:
        """The first ``n`` texts sent to ``chat_id`` once there are that many."""
        try:
            await self.wait_until(lambda: len(self.texts(chat_id)) >= n, within)
        except TimeoutError:
            raise AssertionError(f"chat {chat_id}: wanted {n} messages, got "
                                 f"{self.texts(chat_id)}") from None
        return self.texts(chat_id)[:n]

    async def wait_sent(self, chat_id: Any, n: int, within: float = 10.0) -> bool:
        """Wait until ``chat_id`` has ``n`` messages; False after ``within`` seconds. Wakes on
        that chat's own sends only, so many waiting shoppers stay cheap (the benchmark)."""
        deadline = time.monotonic() + within
        while len(self.sent_calls(chat_id)) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            event = self._chat_events.setdefault(chat_id, asyncio.Event())
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return len(self.sent_calls(chat_id)) >= n
        return True

    async def wait_polling(self, within: float = 10.0) -> None:
        """Wait until the bot has asked for updates (it is up and listening)."""
        await self.wait_until(lambda: bool(self.called("getUpdates")), within)

    # -- scripting errors ------------------------------------------------------------------

    def fail(self, method: str = "sendMessage", code: int = 400,
             description: str = "Bad Request: something is wrong", *,
             chat_id: int | str | None = None, retry_after: int | None = None,
             times: int = 1) -> Failure:
        """The next ``times`` calls of ``method`` (to ``chat_id``, if given) get this error."""
        failure = Failure(method, code, description, chat_id, retry_after, times)
        self.failures.append(failure)
        return failure

    def flood(self, retry_after: int = 1, *, method: str = "sendMessage",
              chat_id: int | str | None = None, times: int = 1) -> Failure:
        """429 Too Many Requests with ``parameters.retry_after``."""
        return self.fail(method, 429, f"Too Many Requests: retry after {retry_after}",
                         chat_id=chat_id, retry_after=retry_after, times=times)

    def block(self, chat_id: int) -> Failure:
        """The shopper blocked the bot: every send to ``chat_id`` gets 403 from now on."""
        failure = Failure("*", 403, BLOCKED, chat_id, None, -1)
        self.failures.append(failure)
        return failure

    def thread_not_found(self, chat_id: int | None = None, times: int = 1) -> Failure:
        return self.fail("sendMessage", 400, THREAD_NOT_FOUND, chat_id=chat_id, times=times)

    def forum(self, chat_id: int, title: str = "客服组") -> None:
        """Make ``chat_id`` (negative) a supergroup with topics enabled, the bot an admin."""
        self.forums[chat_id] = title
        self.members[(chat_id, BOT_ID)] = {
            "status": "administrator", "user": BOT_USER, "can_be_edited": False,
            "is_anonymous": False, "can_manage_chat": True, "can_delete_messages": True,
            "can_manage_video_chats": False, "can_restrict_members": False,
            "can_promote_members": False, "can_change_info": False, "can_invite_users": True,
            "can_post_stories": False, "can_edit_stories": False, "can_delete_stories": False,
            "can_send_welcome_messages": False, "can_manage_topics": True,
            "can_pin_messages": True}

    # -- the HTTP side -----------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            return {**raw, **(body if isinstance(body, dict) else {})}
        if request.method == "POST":
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    raw[key] = {"filename": value.filename, "size": len(value.file.read())}
                else:
                    raw[key] = value
        return {k: _convert(k, v) for k, v in raw.items()}

    async def _endpoint(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params = await self._params(request)
        except (ValueError, aiohttp.ContentTypeError):
            return _error(400, "Bad Request: can't parse request")
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            self._scripted(method, params)
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            if method in SENDING:
                self._check_flood(params.get("chat_id"))
            result = await handler(params)
            if method in SENDING:
                self._count_sent(params.get("chat_id"))
            call.result = result
            if method == "sendMessage":
                self._sent_to.setdefault(params.get("chat_id"), []).append(call)
                event = self._chat_events.get(params.get("chat_id"))
                if event is not None:
                    event.set()
            return web.json_response({"ok": True, "result": result})
        except ApiError as exc:
            call.status = exc.code
            return _error(exc.code, exc.description, exc.retry_after)
        finally:
            self._activity.set()

    def _scripted(self, method: str, params: dict[str, Any]) -> None:
        for failure in self.failures:
            wildcard = failure.method == "*" and method in SENDING | {
                "editMessageReplyMarkup", "editMessageText", "sendChatAction"}
            if wildcard and (failure.chat_id is None or params.get("chat_id") == failure.chat_id):
                raise ApiError(failure.code, failure.description, failure.retry_after)
            if failure.matches(method, params):
                if failure.times > 0:
                    failure.times -= 1
                raise ApiError(failure.code, failure.description, failure.retry_after)

    def _windows(self, chat_id: Any) -> list[tuple[deque[float], int, float]]:
        group = not isinstance(chat_id, int) or chat_id < 0
        limit, period = self.rules.group if group else self.rules.private
        return [(self._sent_log[chat_id], limit, period),
                (self._overall_log, *self.rules.overall)]

    def _check_flood(self, chat_id: Any) -> None:
        if not self.flood_limits:
            return
        now = time.monotonic()
        for log_, limit, period in self._windows(chat_id):
            while log_ and log_[0] <= now - period:
                log_.popleft()
            if len(log_) >= limit:
                wait = max(1, round(log_[0] + period - now + 0.5))
                raise ApiError(429, f"Too Many Requests: retry after {wait}", wait)

    def _count_sent(self, chat_id: Any) -> None:
        now = time.monotonic()
        for log_, _, _ in self._windows(chat_id):
            log_.append(now)

    def _bot_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id is None:
            raise ApiError(400, "Bad Request: chat_id is empty")
        thread = params.get("message_thread_id")
        if thread is not None and chat_id in self.forums:
            topic = self.topics[chat_id].get(thread)
            if topic is None:
                raise ApiError(400, THREAD_NOT_FOUND)
            if topic.get("closed"):
                raise ApiError(400, "Bad Request: TOPIC_CLOSED")
        message_id = next(self._message_ids[chat_id])
        message: dict[str, Any] = {"message_id": message_id, "from": BOT_USER,
                                   "chat": self.chat(chat_id), "date": int(time.time()),
                                   **content}
        if thread is not None:
            message["message_thread_id"] = thread
            message["is_topic_message"] = True
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[(chat_id, message_id)] = message
        return message

    # -- methods -------------------------------------------------------------------------

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                "active; use deleteWebhook to delete the webhook first")
        offset = params.get("offset")
        limit = params.get("limit") or 100
        timeout = float(params.get("timeout") or 0)
        if params.get("allowed_updates") is not None:
            self.allowed_updates = params["allowed_updates"] or None
        deadline = time.monotonic() + timeout
        while True:
            batch = self._take(offset, limit)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._closing:
                return batch
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                pass

    def _take(self, offset: int | None, limit: int) -> list[Any]:
        kept: deque[_Pending] = deque()
        batch: list[Any] = []
        now = time.monotonic()
        for item in self._pending:
            update = item.update
            uid = update.get("update_id") if isinstance(update, dict) else None
            confirmed = offset is not None and isinstance(uid, int) and uid < offset
            if (confirmed and not item.forced) or not self._allowed(update):
                continue
            if len(batch) < limit:
                batch.append(update)
                if isinstance(uid, int):
                    self.delivered_at.setdefault(uid, now)
                if item.forced or not isinstance(uid, int):
                    continue  # handed out once, like a stray duplicate
            kept.append(item)
        self._pending = kept
        return batch

    def _allowed(self, update: Any) -> bool:
        if not self.allowed_updates or not isinstance(update, dict):
            return True
        kinds = [k for k in update if k in UPDATE_TYPES]
        return not kinds or any(k in self.allowed_updates for k in kinds)

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        if not params.get("url"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token"),
                        "allowed_updates": params.get("allowed_updates")}
        self.allowed_updates = params.get("allowed_updates") or None
        for item in self._pending:
            self._webhook_queue.put_nowait(item.update)
        self._pending.clear()
        if self._webhook_task is None:
            self._webhook_task = asyncio.create_task(self._post_updates())
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        while not self._webhook_queue.empty():
            self._pending.append(_Pending(self._webhook_queue.get_nowait()))
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._pending) + self._webhook_queue.qsize()}

    async def _post_updates(self) -> None:
        """Webhook delivery: one update at a time, in order, a few retries on failure."""
        self._http = aiohttp.ClientSession()
        while True:
            update = await self._webhook_queue.get()
            if self.webhook is None:
                self._pending.append(_Pending(update))
                continue
            if not self._allowed(update):
                continue
            headers = {}
            if self.webhook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
            for _attempt in range(3):
                status = await self.post_to_webhook(update, headers=headers)
                if 200 <= status < 300:
                    uid = update.get("update_id") if isinstance(update, dict) else None
                    if isinstance(uid, int):
                        self.delivered_at.setdefault(uid, time.monotonic())
                    break
                await asyncio.sleep(0.2)

    async def post_to_webhook(self, update: Any, *, headers: dict[str, str] | None = None,
                              body: bytes | None = None, url: str | None = None) -> int:
        """POST ``update`` (or a raw ``body``) to the webhook URL; returns the HTTP status
        (0 when the connection failed)."""
        if self._http is None:
            self._http = aiohttp.ClientSession()
        target = url or (self.webhook or {}).get("url")
        if not target:
            raise AssertionError("no webhook set")
        data = body if body is not None else json.dumps(update).encode()
        try:
            async with self._http.post(target, data=data, headers={
                    "Content-Type": "application/json", **(headers or {})}) as resp:
                self.webhook_responses.append(resp.status)
                return resp.status
        except aiohttp.ClientError:
            self.webhook_responses.append(0)
            return 0

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        text = params.get("text")
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._bot_message(params, text=text)

    async def _api_sendPhoto(self, params: dict[str, Any]) -> Any:
        photo = params.get("photo")
        file_id = photo if isinstance(photo, str) else f"uploaded-{next(self._update_ids)}"
        content: dict[str, Any] = {"photo": [{"file_id": file_id, "file_unique_id": file_id,
                                              "width": 1280, "height": 1280}]}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._bot_message(params, **content)

    async def _api_copyMessage(self, params: dict[str, Any]) -> Any:
        source = self.messages.get((params.get("from_chat_id"), params.get("message_id")))
        if source is None:
            raise ApiError(400, "Bad Request: message to copy not found")
        content = {k: v for k, v in source.items()
                   if k not in ("message_id", "from", "chat", "date", "message_thread_id",
                                "is_topic_message", "reply_markup")}
        return {"message_id": self._bot_message(params, **content)["message_id"]}

    async def _api_forwardMessage(self, params: dict[str, Any]) -> Any:
        source = self.messages.get((params.get("from_chat_id"), params.get("message_id")))
        if source is None:
            raise ApiError(400, "Bad Request: message to forward not found")
        content = {k: v for k, v in source.items()
                   if k not in ("message_id", "from", "chat", "date", "message_thread_id",
                                "is_topic_message", "reply_markup")}
        origin = {"type": "user", "date": source["date"], "sender_user": source["from"]}
        return self._bot_message(params, forward_origin=origin, **content)

    async def _api_sendChatAction(self, params: dict[str, Any]) -> Any:
        return True

    def _stored(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get((params.get("chat_id"), params.get("message_id")))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        message = self._stored(params)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        else:
            message.pop("reply_markup", None)
        return message

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        message = self._stored(params)
        message["text"] = params.get("text", "")
        message["edit_date"] = int(time.time())
        return message

    async def _api_deleteMessage(self, params: dict[str, Any]) -> Any:
        self._stored(params)
        del self.messages[(params.get("chat_id"), params.get("message_id"))]
        return True

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old and response timeout expired "
                                "or query ID is invalid")
        return True

    async def _api_getChat(self, params: dict[str, Any]) -> Any:
        chat = self.chat(params.get("chat_id", 0))
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11}

    def _forum(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if chat_id not in self.forums:
            raise ApiError(400, "Bad Request: the chat is not a forum")
        return int(chat_id)

    def _topic(self, params: dict[str, Any]) -> dict[str, Any]:
        topic = self.topics[self._forum(params)].get(params.get("message_thread_id", -1))
        if topic is None:
            raise ApiError(400, THREAD_NOT_FOUND)
        return topic

    async def _api_createForumTopic(self, params: dict[str, Any]) -> Any:
        chat_id = self._forum(params)
        name = params.get("name") or ""
        if not 1 <= len(name) <= 128:
            raise ApiError(400, "Bad Request: TOPIC_TITLE_EMPTY" if not name else
                           "Bad Request: TOPIC_TITLE_TOO_LONG")
        thread = next(self._thread_ids)
        topic = {"message_thread_id": thread, "name": name,
                 "icon_color": params.get("icon_color") or 7322096}
        self.topics[chat_id][thread] = {**topic, "closed": False}
        return topic

    async def _api_editForumTopic(self, params: dict[str, Any]) -> Any:
        topic = self._topic(params)
        if params.get("name"):
            topic["name"] = params["name"]
        return True

    async def _api_closeForumTopic(self, params: dict[str, Any]) -> Any:
        self._topic(params)["closed"] = True
        return True

    async def _api_reopenForumTopic(self, params: dict[str, Any]) -> Any:
        self._topic(params)["closed"] = False
        return True

    async def _api_deleteForumTopic(self, params: dict[str, Any]) -> Any:
        self._topic(params)
        del self.topics[self._forum(params)][params["message_thread_id"]]
        return True

    async def _api_getChatMember(self, params: dict[str, Any]) -> Any:
        key = (params.get("chat_id"), params.get("user_id"))
        member = self.members.get(key)  # type: ignore[arg-type]
        if member is not None:
            return member
        user_id = params.get("user_id") or 0
        return {"status": "member", "user": self.user(int(user_id))}

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        return True


def _convert(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key in INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value
    if key in BOOL_FIELDS:
        return value.lower() == "true"
    return value


def _error(code: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)
