"""What agents see in the group: the topic's name, the context card, status lines, buttons.

Every word comes from the script library's ``tg_*`` system texts (managers edit them like
the shoppers' texts); this module only gathers the ticket's facts into template variables.
A library published before those texts existed falls back to the ones shipped with kefu,
so an old version never leaves agents with empty messages.

Callback data of the agents' buttons is ``tk:<action>:<ticket id>[:<argument>]`` (at most 64
bytes); anything else is not ours and is ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import yaml
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.brain import BrainHolder
from config.settings import DEFAULT_LIBRARY
from handoff import Ticket
from intents.entities import mask_pii
from scripts_zh.renderer import pick, render

log = logging.getLogger(__name__)

#: Telegram's limit for a topic name.
MAX_TOPIC_NAME = 128
#: Transcript lines on the card, and the length of each.
CARD_LINES = 20
CARD_LINE_CHARS = 300
#: Below Telegram's 4096 so the card goes as one message with its buttons.
MAX_CARD = 3900
MAX_CALLBACK_BYTES = 64
PREFIX = "tk"
ACTIONS = ("take", "back", "close", "xfer", "to")
TICKET_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
SHIPPED_SYSTEM = DEFAULT_LIBRARY / "system.yaml"


@lru_cache(maxsize=1)
def shipped_texts() -> dict[str, list[str]]:
    """The system texts kefu ships, for keys a published library does not have yet."""
    try:
        data = yaml.safe_load(SHIPPED_SYSTEM.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        log.error("telegram: cannot read the shipped system texts: %s", exc)
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): [v] if isinstance(v, str) else [str(x) for x in v]
            for k, v in data.items() if isinstance(v, (str, list)) and v}


class Texts:
    """Renders the agents' texts from the current library (live: follows publishes)."""

    def __init__(self, brains: BrainHolder) -> None:
        self.brains = brains

    def get(self, key: str, **context: Any) -> str:
        """One text; never raises (a broken template falls back, then to the key itself)."""
        brain = self.brains.current
        full = {"shop_name": brain.shop_name, **context}
        for variants in (brain.library.system.get(key), shipped_texts().get(key)):
            if not variants:
                continue
            try:
                text = render(pick(variants, 0), full)
            except Exception:
                log.exception("telegram: agents' text %s failed to render", key)
                continue
            if text:
                return text
        return key

    def title(self, intent: str | None) -> str:
        """The intent's title in the library (its name when unknown)."""
        return self.brains.current.library.title(intent) if intent else ""


def topic_name(ticket: Ticket, texts: Texts) -> str:
    """``display name · intent · summary``, without repeating the intent the summary starts
    with, cut to Telegram's 128 characters."""
    parts = [ticket.shopper_name.strip() or ticket.id]
    title = texts.title(ticket.intent)
    if title:
        parts.append(title)
    parts += [p.strip() for p in ticket.summary.split(" · ") if p.strip() and p.strip() != title]
    name = " · ".join(dict.fromkeys(p for p in parts if p))
    name = " ".join(name.split())  # no line breaks in a topic name
    return name if len(name) <= MAX_TOPIC_NAME else name[:MAX_TOPIC_NAME - 1] + "…"


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """``text`` cut (with …) to at most ``limit`` UTF-16 units."""
    if units(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if used + width > limit - 1:
            break
        kept.append(ch)
        used += width
    return "".join(kept) + "…"


def _line(text: Any) -> str:
    value = " ".join(str(text or "").split())
    return value if len(value) <= CARD_LINE_CHARS else value[:CARD_LINE_CHARS - 1] + "…"


def transcript(ticket: Ticket, last: int = CARD_LINES) -> list[dict[str, str]]:
    """The bot conversation (already masked when stored) and then the live chat, newest last."""
    lines = [{"role": str(e.get("role", "")), "text": _line(e.get("text"))}
             for e in ticket.context.transcript if isinstance(e, dict)]
    lines += [{"role": m.role, "text": _line(m.text)} for m in ticket.messages]
    return [line for line in lines if line["text"]][-last:]


def card_text(ticket: Ticket, texts: Texts, agent_name: str = "") -> str:
    """The context packet as one message: summary, reason, anger, slots, recent lines."""
    slots = dict(ticket.context.slots)
    if slots.get("phone"):
        slots["phone"] = mask_pii(str(slots["phone"]))  # the order id stays: agents look it up
    reason_key = f"reason_{ticket.context.reason or ticket.reason}"
    reason = texts.get(reason_key)
    lines = transcript(ticket)
    while True:
        text = texts.get(
            "tg_topic_card", customer_name=ticket.shopper_name, summary=ticket.summary,
            reason="" if reason == reason_key else reason, anger=round(ticket.context.anger, 2),
            slots=slots, transcript=lines, ticket_id=ticket.id, channel=ticket.channel,
            skill=ticket.skill, text=ticket.left_message or "", contact=ticket.contact or "",
            agent_name=agent_name)
        if units(text) <= MAX_CARD or not lines:
            return fit(text, MAX_CARD)
        lines = lines[1:]


def callback_data(action: str, ticket_id: str, argument: str = "") -> str | None:
    """The button's data, or None when it would not fit in 64 bytes."""
    data = f"{PREFIX}:{action}:{ticket_id}" + (f":{argument}" if argument else "")
    return data if len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES else None


def parse_callback(data: str | None) -> tuple[str, str, str] | None:
    """``(action, ticket id, argument)`` for our own buttons, None for anything else."""
    if not data or not isinstance(data, str):
        return None
    parts = data.split(":", 3)
    if len(parts) < 3 or parts[0] != PREFIX or parts[1] not in ACTIONS:
        return None
    if not TICKET_ID.match(parts[2]):
        return None
    argument = parts[3] if len(parts) == 4 else ""
    if parts[1] == "to" and not argument:
        return None
    return parts[1], parts[2], argument


def _button(text: str, action: str, ticket_id: str, argument: str = ""
            ) -> InlineKeyboardButton | None:
    data = callback_data(action, ticket_id, argument)
    return InlineKeyboardButton(text=text[:64], callback_data=data) if data else None


def _rows(buttons: Iterable[InlineKeyboardButton | None], per_row: int
          ) -> list[list[InlineKeyboardButton]]:
    kept = [b for b in buttons if b is not None]
    return [kept[i:i + per_row] for i in range(0, len(kept), per_row)]


def card_keyboard(ticket_id: str, texts: Texts) -> InlineKeyboardMarkup:
    """Take / Hand back / Close / Transfer under the card."""
    return InlineKeyboardMarkup(inline_keyboard=_rows([
        _button(texts.get("tg_button_take"), "take", ticket_id),
        _button(texts.get("tg_button_back"), "back", ticket_id),
        _button(texts.get("tg_button_close"), "close", ticket_id),
        _button(texts.get("tg_button_transfer"), "xfer", ticket_id),
    ], 2))


def skill_label(skill: str, texts: Texts) -> str:
    return texts.get(f"tg_button_{skill}")


def transfer_keyboard(ticket_id: str, texts: Texts, agents: Sequence[tuple[str, str]]
                      ) -> InlineKeyboardMarkup:
    """The two skill queues, then online agents ``(name, display name)``."""
    skills = [_button(skill_label(s, texts), "to", ticket_id, s)
              for s in ("presale", "after_sales")]
    people = [_button(display, "to", ticket_id, "@" + name) for name, display in agents]
    return InlineKeyboardMarkup(inline_keyboard=_rows(skills, 2) + _rows(people, 2))
