"""Long polling (development, or a host Telegram cannot reach): getUpdates in a loop.

Updates are fetched as raw JSON (:class:`GetRawUpdates`) and parsed one by one in the
intake: aiogram's own GetUpdates parses the whole batch at once, so a single malformed
update would fail every retry of that batch and stall the bot. Updates that piled up
while the bot was down come first, in order. On stop the offset is confirmed so a restart
does not get the last batch again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramConflictError, TelegramUnauthorizedError
from aiogram.methods import TelegramMethod

from bot.telegram.intake import Intake

log = logging.getLogger(__name__)


class GetRawUpdates(TelegramMethod[list[Any]]):
    """getUpdates returning the updates unparsed."""

    __returning__ = list[Any]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


def update_id(raw: Any) -> int | None:
    value = raw.get("update_id") if isinstance(raw, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class Poller:
    """Fetches updates until cancelled; network trouble means back-off, never an exit."""

    def __init__(self, bot: Bot, intake: Intake, allowed_updates: list[str], *,
                 timeout: int = 25, max_backlog: int = 1000) -> None:
        self.bot = bot
        self.intake = intake
        self.allowed_updates = allowed_updates
        self.timeout = timeout
        self.max_backlog = max_backlog
        self.offset: int | None = None

    async def run(self) -> None:
        delay = 0.0
        while True:
            if delay:
                await asyncio.sleep(delay)
            await self.intake.lanes.wait_below(self.max_backlog)
            method = GetRawUpdates(offset=self.offset, timeout=self.timeout,
                                   allowed_updates=self.allowed_updates)
            try:
                batch = await self.bot(method,
                                       request_timeout=int(self.bot.session.timeout
                                                           + self.timeout))
            except asyncio.CancelledError:
                raise
            except TelegramUnauthorizedError:
                log.error("telegram: the token was rejected (401); long polling stopped")
                return
            except TelegramConflictError as exc:
                delay = min(30.0, max(1.0, delay * 2))
                log.warning("telegram: getUpdates conflict (%s): is another process polling "
                            "with this token? retrying in %.0fs", exc.message, delay)
                continue
            except Exception as exc:
                delay = min(30.0, max(1.0, delay * 2))
                log.warning("telegram: getUpdates failed (%s: %s); retrying in %.0fs",
                            type(exc).__name__, exc, delay)
                continue
            delay = 0.0
            for raw in batch or []:
                uid = update_id(raw)
                if uid is not None and (self.offset is None or uid >= self.offset):
                    self.offset = uid + 1
                self.intake.submit(raw)

    async def confirm(self) -> None:
        """Tell Telegram the updates fetched so far are done (best effort, at shutdown)."""
        if self.offset is None:
            return
        try:
            await self.bot(GetRawUpdates(offset=self.offset, timeout=0, limit=1),
                           request_timeout=5)
        except Exception as exc:
            log.info("telegram: could not confirm the polling offset: %s", exc)
