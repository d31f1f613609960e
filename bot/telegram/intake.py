"""Where every update enters, from long polling or the webhook alike.

``submit`` takes the raw JSON object, so a malformed or unknown update is logged and
skipped on its own instead of failing a whole batch. Valid updates are queued on their
chat's lane at once (arrival order = handling order), and on the lane each is first
checked against the dedupe store, then fed to the dispatcher.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError

from bot.storage import StoreUnavailable
from bot.telegram.dedupe import UpdateDedupe
from bot.telegram.lanes import Lanes
from bot.text_clean import clean_tree

log = logging.getLogger(__name__)


def lane_key(update: Update) -> str:
    """The chat an update belongs to, plus the forum topic when there is one."""
    message: Any = (update.message or update.edited_message or update.channel_post
                    or update.edited_channel_post or update.business_message)
    if update.callback_query is not None:
        message = update.callback_query.message
        if message is None:
            return f"user:{update.callback_query.from_user.id}"
    if message is not None:
        thread = getattr(message, "message_thread_id", None)
        topic = thread if thread and getattr(message, "is_topic_message", False) else None
        return f"{message.chat.id}:{topic}" if topic else str(message.chat.id)
    for event in (update.my_chat_member, update.chat_member, update.chat_join_request):
        if event is not None:
            return str(event.chat.id)
    return "other"


class Intake:
    """Validates, dedupes and serialises updates before the dispatcher sees them."""

    def __init__(self, bot: Bot, dispatcher: Dispatcher, dedupe: UpdateDedupe) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.dedupe = dedupe
        self.lanes = Lanes("telegram-in")
        self.duplicates = 0
        self.malformed = 0

    def submit(self, raw: Any) -> bool:
        """Queue one raw update; False (and logged) when it is not a usable update."""
        if not isinstance(raw, dict):
            self.malformed += 1
            log.warning("telegram: ignoring an update that is not an object: %.100r", raw)
            return False
        try:
            update = Update.model_validate(clean_tree(raw), context={"bot": self.bot})
        except ValidationError as exc:
            self.malformed += 1
            errors = exc.errors()
            where = ".".join(str(p) for p in errors[0]["loc"]) if errors else "?"
            log.warning("telegram: ignoring malformed update %r: %s at %s",
                        raw.get("update_id"), errors[0]["msg"] if errors else "invalid", where)
            return False
        except Exception:  # pydantic rejects most garbage as above; anything else too
            self.malformed += 1
            log.exception("telegram: ignoring update %r that could not be read",
                          raw.get("update_id"))
            return False
        try:
            update.event_type  # noqa: B018 - raises for types this aiogram does not know
        except Exception:
            log.info("telegram: ignoring update %s of an unknown type", update.update_id)
            return False
        self.lanes.submit(lane_key(update), partial(self._handle, update))
        return True

    async def _handle(self, update: Update) -> None:
        try:
            fresh = await self.dedupe.first_seen(f"{self.bot.id}:{update.update_id}")
        except StoreUnavailable as exc:
            log.warning("telegram: dedupe store unavailable (%s); handling update %s anyway",
                        exc, update.update_id)
            fresh = True
        if not fresh:
            self.duplicates += 1
            log.info("telegram: update %s delivered again; skipped", update.update_id)
            return
        await self.dispatcher.feed_update(self.bot, update)
