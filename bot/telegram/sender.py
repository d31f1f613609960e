"""Everything the bot sends to Telegram goes through one queue that respects flood limits.

Telegram answers 429 (and may ban for a while) when a bot sends more than about one
message a second to a chat, twenty a minute to a group, or thirty a second overall. The
sender queues each call on its chat's lane (so a chat's messages keep their order), waits
until every limit allows it, and only then calls the API:

* 429 ``retry_after``: the chat waits that long and the same call is retried; nothing is
  dropped;
* network errors and 5xx: retried with back-off for a few minutes, then logged and dropped;
* 403 (the shopper blocked the bot, or left) and 400 (bad request, thread not found): the
  call can never succeed; it is logged and dropped, and the process goes on.

Limits are per process; several processes behind one token should lower them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import InlineKeyboardMarkup

from bot.telegram.keyboards import keyboard
from bot.telegram.lanes import Lanes

log = logging.getLogger(__name__)

T = TypeVar("T")
ChatId = int | str
#: Telegram's limit is 4096 UTF-16 units; characters outside the BMP count twice.
MAX_TEXT = 4000
#: How often to look again while a window is full of calls still waiting for an answer.
IN_FLIGHT_POLL = 0.05


@dataclass(frozen=True)
class FloodLimits:
    """``(count, seconds)``: at most ``count`` messages in any ``seconds``-long window."""

    private: tuple[int, float] = (3, 3.0)  # ~1/s, but a turn's two or three replies go at once
    group: tuple[int, float] = (20, 60.0)
    overall: tuple[int, float] = (30, 1.0)

    @classmethod
    def off(cls) -> FloodLimits:
        """No waiting at all (benchmarks against a fake server)."""
        return cls(private=(10**9, 1.0), group=(10**9, 1.0), overall=(10**9, 1.0))


class Window:
    """At most ``limit`` events in any ``period`` seconds, as the server will count them.

    A call is stamped when it is made and again when its answer arrives: the server saw it
    somewhere in between, so the window counts it until ``period`` after the answer. That
    keeps a slow first request (a new connection) from bunching up with the next ones at
    Telegram's end. Calls still in flight never expire.
    """

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._stamps: list[list[float]] = []

    def delay(self, now: float) -> float:
        """Seconds until one more event is allowed (0 when allowed now)."""
        self._stamps = [s for s in self._stamps if s[0] > now - self.period]
        if len(self._stamps) < self.limit:
            return 0.0
        ends = sorted(s[0] for s in self._stamps)
        free_at = ends[len(ends) - self.limit] + self.period
        return free_at - now if free_at != math.inf else IN_FLIGHT_POLL

    def take(self, now: float) -> list[float]:
        """Count one event from ``now``; pass the returned stamp to :meth:`settle`."""
        stamp = [math.inf]
        self._stamps.append(stamp)
        return stamp

    @staticmethod
    def settle(stamp: list[float], end: float) -> None:
        """The call's answer arrived at ``end``: it counts until ``end + period``."""
        stamp[0] = end

    def idle(self, now: float) -> bool:
        return all(s[0] <= now - self.period for s in self._stamps)


@dataclass
class SenderStats:
    """Counters for logs, tests and the benchmark."""

    sent: int = 0
    retried_after_429: int = 0
    retried_network: int = 0
    dropped_forbidden: int = 0
    dropped_bad_request: int = 0
    dropped_other: int = 0


def is_group(chat_id: ChatId) -> bool:
    """Groups and channels have negative ids (or an @username); private chats positive."""
    return not isinstance(chat_id, int) or chat_id < 0


def split_text(text: str, size: int = MAX_TEXT) -> list[str]:
    """Cut a long text into Telegram-sized parts, at a line break where there is one."""
    parts: list[str] = []
    while len(text) > size:
        cut = text.rfind("\n", size // 2, size)
        cut = size if cut <= 0 else cut + 1
        parts.append(text[:cut])
        text = text[cut:]
    parts.append(text)
    return parts


class TelegramSender:
    """The outgoing queue. ``send_text`` fires and forgets; ``call`` waits for the result."""

    def __init__(self, bot: Bot, limits: FloodLimits | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 max_network_retries: int = 8) -> None:
        self.bot = bot
        self.limits = limits or FloodLimits()
        self.clock = clock
        self.max_network_retries = max_network_retries
        self.stats = SenderStats()
        self.lanes = Lanes("telegram-out")
        self._overall = Window(*self.limits.overall)
        self._chats: dict[ChatId, Window] = {}
        self._paused_until: dict[ChatId, float] = {}
        self._submitted = 0
        self._futures: set[asyncio.Future[Any]] = set()

    # -- queueing ------------------------------------------------------------------------

    def submit(self, chat_id: ChatId, method: TelegramMethod[T], *,
               counts: bool = True) -> asyncio.Future[T | None]:
        """Queue ``method`` behind ``chat_id``'s earlier calls. The future gets the result,
        None when the call was dropped (403, 400 …: already logged). ``counts`` is False for
        calls that are not messages (answering a button press): they skip the chat limit."""
        future: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()

        async def job() -> None:
            try:
                result = await self._run(chat_id, method, counts)
            except asyncio.CancelledError:
                future.cancel()
                raise
            except Exception:  # a broken answer (not JSON …) must not stall the chat
                self.stats.dropped_other += 1
                log.exception("telegram: %s to %s failed; dropped", method.__api_method__,
                              chat_id)
                result = None
            if not future.done():
                future.set_result(result)

        self._futures.add(future)
        future.add_done_callback(self._futures.discard)

        self._submitted += 1
        if self._submitted % 1000 == 0:
            self._forget_idle_chats()
        self.lanes.submit(chat_id, job)
        return future

    async def call(self, chat_id: ChatId, method: TelegramMethod[T], *,
                   counts: bool = True) -> T | None:
        """Queue and wait: for calls whose result matters (a topic's id, a message id)."""
        return await self.submit(chat_id, method, counts=counts)

    def send_text(self, chat_id: ChatId, text: str, buttons: Sequence[str] = (),
                  **kwargs: Any) -> list[asyncio.Future[Any]]:
        """Queue a text (split when too long; the buttons go under its last part)."""
        markup: InlineKeyboardMarkup | None = keyboard(buttons)
        parts = split_text(text) if text else []
        futures: list[asyncio.Future[Any]] = []
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            method = SendMessage(chat_id=chat_id, text=part,
                                 reply_markup=markup if last else None, **kwargs)
            futures.append(self.submit(chat_id, method))
        return futures

    async def flush(self, grace: float | None = None) -> bool:
        """Wait until everything queued so far has been sent or dropped."""
        return await self.lanes.join(grace)

    async def close(self, grace: float = 10.0) -> bool:
        """Send what is queued (up to ``grace`` seconds), then stop."""
        drained = await self.lanes.close(grace)
        if not drained:
            log.warning("telegram: outgoing calls left unsent at shutdown")
        for future in list(self._futures):
            future.cancel()
        return drained

    # -- one call --------------------------------------------------------------------------

    def _window(self, chat_id: ChatId) -> Window:
        window = self._chats.get(chat_id)
        if window is None:
            window = Window(*(self.limits.group if is_group(chat_id) else self.limits.private))
            self._chats[chat_id] = window
        return window

    def _forget_idle_chats(self) -> None:
        now = self.clock()
        for chat_id in [c for c, w in self._chats.items() if w.idle(now)]:
            del self._chats[chat_id]
        for chat_id in [c for c, t in self._paused_until.items() if t <= now]:
            del self._paused_until[chat_id]

    async def _turn(self, chat_id: ChatId, counts: bool) -> list[list[float]]:
        """Wait until the chat's and the overall limits allow one more call; take it."""
        window = self._window(chat_id)
        while True:
            now = self.clock()
            wait = max(self._overall.delay(now), window.delay(now) if counts else 0.0,
                       self._paused_until.get(chat_id, 0.0) - now)
            if wait <= 0:
                stamps = [self._overall.take(now)]
                if counts:
                    stamps.append(window.take(now))
                return stamps
            await asyncio.sleep(wait)

    async def _call(self, method: TelegramMethod[T], stamps: list[list[float]]) -> T:
        try:
            return await self.bot(method)
        finally:
            end = self.clock()
            for stamp in stamps:
                Window.settle(stamp, end)

    async def _run(self, chat_id: ChatId, method: TelegramMethod[T], counts: bool) -> T | None:
        name = method.__api_method__
        failures = 0
        while True:
            stamps = await self._turn(chat_id, counts)
            try:
                result = await self._call(method, stamps)
            except TelegramRetryAfter as exc:
                self.stats.retried_after_429 += 1
                log.warning("telegram: %s to %s hit the flood limit; retrying in %ss",
                            name, chat_id, exc.retry_after)
                self._paused_until[chat_id] = self.clock() + exc.retry_after
                continue
            except TelegramForbiddenError as exc:
                self.stats.dropped_forbidden += 1
                log.warning("telegram: %s to %s refused (%s); dropped", name, chat_id,
                            exc.message)
                return None
            except (TelegramBadRequest, TelegramNotFound, TelegramEntityTooLarge,
                    TelegramMigrateToChat) as exc:
                self.stats.dropped_bad_request += 1
                log.error("telegram: %s to %s rejected (%s); dropped", name, chat_id,
                          exc.message)
                return None
            except TelegramUnauthorizedError as exc:
                self.stats.dropped_other += 1
                log.error("telegram: the token was rejected (%s); %s to %s dropped",
                          exc.message, name, chat_id)
                return None
            except (TelegramNetworkError, TelegramServerError) as exc:
                failures += 1
                if failures > self.max_network_retries:
                    self.stats.dropped_other += 1
                    log.error("telegram: %s to %s failed %d times (%s); dropped", name,
                              chat_id, failures, exc.message)
                    return None
                self.stats.retried_network += 1
                delay = min(30.0, 0.5 * 2 ** (failures - 1))
                log.warning("telegram: %s to %s failed (%s); retry %d in %.1fs", name,
                            chat_id, exc.message, failures, delay)
                await asyncio.sleep(delay)
                continue
            except TelegramAPIError as exc:
                self.stats.dropped_other += 1
                log.error("telegram: %s to %s failed (%s); dropped", name, chat_id, exc.message)
                return None
            self.stats.sent += 1
            return result
