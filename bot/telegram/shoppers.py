"""Shoppers' private chats: /start, texts, media and button presses, all through the engine.

Every text a shopper sees comes from the engine (the script library); this module only
turns Telegram messages into :class:`~bot.turn.Incoming` and replies into queued sends.
Handlers receive ``services`` and ``sender`` from the dispatcher's workflow data.

Choices:

* the first message of a chat gets the welcome first, as the web chat does on page load;
* photos, stickers, voice, video and files go to the engine with their kind and file id
  (the engine answers with ``input_unsupported``; a caption travels as the text, so an
  agent reading the relay later sees it). Locations, contacts, polls and content types
  aiogram does not know yet go as kind ``other``. Service messages (pinned, auto-delete
  timer …) are not from the shopper and get no answer;
* edited messages are ignored: the shopper already has an answer to the original, and a
  second answer could repeat an action (a second refund request, a second handoff). The
  dispatcher does not even ask Telegram for them. A shopper who corrects a detail types it
  again, as in the web chat;
* groups are not handled here (the agents' router takes the agents' group).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from aiogram import F, Router
from aiogram.enums import ChatType, ContentType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import CommandStart
from aiogram.methods import EditMessageReplyMarkup
from aiogram.types import CallbackQuery, InaccessibleMessage, Message

from bot.services import Services
from bot.storage import StoreUnavailable
from bot.telegram.keyboards import chosen_keyboard, pressed_text
from bot.telegram.sender import TelegramSender
from bot.turn import Incoming, MessageKind

log = logging.getLogger(__name__)

CHANNEL = "telegram"

#: Content types that carry a file, the engine's kind for each.
MEDIA: dict[str, MessageKind] = {
    ContentType.PHOTO.value: "photo",
    ContentType.STICKER.value: "sticker",
    ContentType.VOICE.value: "voice",
    ContentType.AUDIO.value: "voice",
    ContentType.VIDEO.value: "video",
    ContentType.VIDEO_NOTE.value: "video",
    ContentType.ANIMATION.value: "video",
    ContentType.DOCUMENT.value: "document",
}
#: Content the shopper made that is neither text nor a file; anything unknown joins them.
USER_CONTENT = {*MEDIA, *(c.value for c in (
    ContentType.TEXT, ContentType.CONTACT, ContentType.DICE, ContentType.GAME,
    ContentType.POLL, ContentType.VENUE, ContentType.LOCATION, ContentType.STORY,
    ContentType.PAID_MEDIA, ContentType.CHECKLIST, ContentType.LIVE_PHOTO,
    ContentType.INVOICE, ContentType.UNKNOWN, ContentType.ANY))}
#: Everything else aiogram knows is a service message: nothing to answer.
SERVICE = {c.value for c in ContentType} - USER_CONTENT


def content_type(message: Message) -> str:
    """The content type as a plain string (aiogram returns its str-Enum)."""
    value = message.content_type
    return str(getattr(value, "value", value))


def file_id(message: Message, kind_of: str) -> str | None:
    """The file id of a media message (the largest size of a photo)."""
    if kind_of == ContentType.PHOTO.value:
        return message.photo[-1].file_id if message.photo else None
    media: Any = getattr(message, kind_of, None)
    return getattr(media, "file_id", None)


async def converse(services: Services, sender: TelegramSender, chat_id: int, name: str,
                   text: str = "", kind: MessageKind = "text",
                   attachment: str | None = None) -> None:
    """One shopper message in, the engine's replies queued out in order."""
    msg = Incoming(channel=CHANNEL, chat_id=str(chat_id), text=text, kind=kind,
                   display_name=name, attachment=attachment)
    if not await welcomed(services, str(msg.key)):
        await welcome(services, sender, chat_id, name)

    async def answer(said: str) -> None:
        turn = await services.engine.handle(replace(msg, text=said))
        for reply in turn.replies:
            sender.send_text(chat_id, reply.text, reply.buttons)

    if kind != "text":
        services.coalescer.flush(msg.key)
        await answer(text)
        return
    # The lane's job ends here: the next fragment can join this one while it waits.
    services.coalescer.add(msg.key, text, answer)


async def welcomed(services: Services, key: str) -> bool:
    """Whether this chat had its welcome (an unreachable store counts as yes: no repeats)."""
    try:
        state = await services.store.load(key)
    except StoreUnavailable:
        return True
    return state is not None and state.welcomed


async def welcome(services: Services, sender: TelegramSender, chat_id: int, name: str) -> None:
    """Queue the welcome; a failure is logged and the shopper's message still answered."""
    try:
        replies = await services.engine.welcome(CHANNEL, str(chat_id), name)
    except Exception:
        log.exception("telegram: no welcome for %s", chat_id)
        return
    for reply in replies:
        sender.send_text(chat_id, reply.text, reply.buttons)


async def on_start(message: Message, services: Services, sender: TelegramSender) -> None:
    """/start (also with a deep-link payload, which is ignored for now) welcomes; while an
    agent has the chat it is passed on like any message instead."""
    name = message.from_user.full_name if message.from_user else ""
    try:
        state = await services.store.load(f"{CHANNEL}:{message.chat.id}")
    except StoreUnavailable:
        state = None
    if state is not None and state.status in ("waiting", "agent"):
        await converse(services, sender, message.chat.id, name, message.text or "")
        return
    await welcome(services, sender, message.chat.id, name)


async def on_text(message: Message, services: Services, sender: TelegramSender) -> None:
    name = message.from_user.full_name if message.from_user else ""
    await converse(services, sender, message.chat.id, name, message.text or "")


async def on_other(message: Message, services: Services, sender: TelegramSender) -> None:
    """Media and other non-text content: the engine answers from the library."""
    kind_of = content_type(message)
    if kind_of in SERVICE:
        log.debug("telegram: service message %s in %s ignored", kind_of, message.chat.id)
        return
    kind: MessageKind = MEDIA.get(kind_of, "other")
    name = message.from_user.full_name if message.from_user else ""
    await converse(services, sender, message.chat.id, name, message.caption or "", kind,
                   file_id(message, kind_of))


async def on_press(query: CallbackQuery, services: Services, sender: TelegramSender) -> None:
    """A quick-reply press: answered at once (the spinner stops), the keyboard collapses to
    the choice, and the text goes to the engine exactly as if typed."""
    try:
        await query.answer()
    except TelegramAPIError as exc:  # too old, already answered: the press still counts
        log.info("telegram: could not answer callback query: %s", exc.message)
    text = pressed_text(query)
    message = query.message
    chat_id = message.chat.id if message is not None else query.from_user.id
    if text is None:
        return
    if message is not None and not isinstance(message, InaccessibleMessage):
        sender.submit(chat_id, EditMessageReplyMarkup(chat_id=chat_id,
                                                      message_id=message.message_id,
                                                      reply_markup=chosen_keyboard(text)),
                      counts=False)
    await converse(services, sender, chat_id, query.from_user.full_name, text)


def router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    r = Router(name="shoppers")
    r.message.filter(F.chat.type == ChatType.PRIVATE)
    r.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    r.message.register(on_start, CommandStart())
    r.message.register(on_text, F.text)
    r.message.register(on_other)
    r.callback_query.register(on_press)
    return r

