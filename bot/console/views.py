"""Tickets and agents as the JSON the console renders: plain dicts, labels resolved here.

Kept apart from the handlers so what an agent sees (and what is deliberately left out) is
in one place and testable without a server. Labels for reasons and intents come from the
script library, so a manager renaming an intent renames it in the console too.
"""

from __future__ import annotations

from typing import Any

from handoff import Agent, Message, Ticket
from intents.sentiment import ANGRY
from scripts_zh.models import Library
from scripts_zh.renderer import render

#: Characters of the last message shown in a list row.
PREVIEW = 80


def reason_label(library: Library, reason: str) -> str:
    """The library's one-line wording of a handoff reason (the code when there is none)."""
    variants = library.system.get(f"reason_{reason}")
    if not variants:
        return reason
    try:
        return render(variants[0], {}) or reason
    except Exception:  # a manager's broken template must not break the console
        return reason


def _message(message: Message) -> dict[str, Any]:
    return {"role": message.role, "author": message.author, "text": message.text,
            "ts": message.ts, "attachment": message.attachment}


def _unanswered(ticket: Ticket) -> int:
    """Shopper lines since the last agent line: what a row badges as waiting for a reply."""
    count = 0
    for message in reversed(ticket.messages):
        if message.role == "agent":
            break
        if message.role == "shopper":
            count += 1
    return count


def brief(ticket: Ticket, library: Library, now: float) -> dict[str, Any]:
    """One row of the queue or of "my chats"."""
    last = ticket.messages[-1] if ticket.messages else None
    anger = float(ticket.context.anger or 0.0)
    return {
        "id": ticket.id, "conversation": ticket.conversation, "channel": ticket.channel,
        "shopper_name": ticket.shopper_name, "status": ticket.status,
        "reason": ticket.reason, "reason_label": reason_label(library, ticket.reason),
        "intent": ticket.intent,
        "intent_title": library.title(ticket.intent) if ticket.intent else "",
        "skill": ticket.skill, "urgent": ticket.priority == 0, "summary": ticket.summary,
        "anger": round(anger, 2), "angry": anger >= ANGRY,
        "created_at": ticket.created_at, "waited": max(0.0, now - ticket.created_at),
        "assigned_to": ticket.assigned_to, "assigned_at": ticket.assigned_at,
        "left_message": ticket.left_message, "contact": ticket.contact,
        "last": ({"role": last.role, "text": last.text[:PREVIEW], "ts": last.ts}
                 if last else None),
        "unanswered": _unanswered(ticket), "rating": ticket.rating,
    }


def full(ticket: Ticket, library: Library, now: float, viewer: str) -> dict[str, Any]:
    """Everything the chat and context panels show for one ticket."""
    context = ticket.context
    turns = [{"text": str(t.get("text", "")), "intent": t.get("intent"),
              "intent_title": library.title(str(t["intent"])) if t.get("intent") else "",
              "confidence": t.get("confidence")} for t in context.turns]
    transcript = [{"role": str(e.get("role", "")), "text": str(e.get("text", "")),
                   "ts": e.get("ts"), "intent": e.get("intent")} for e in context.transcript]
    mine = ticket.status == "assigned" and ticket.assigned_to == viewer
    return {
        **brief(ticket, library, now),
        "mine": mine,
        "can_close": ticket.status == "queued" or mine,
        "context": {"summary": context.summary, "reason": context.reason,
                    "anger": context.anger, "slots": dict(context.slots), "turns": turns,
                    "transcript": transcript, "attachments": list(context.attachments)},
        "messages": [_message(m) for m in ticket.messages],
        "notes": [{"author": n.author, "text": n.text, "ts": n.ts} for n in ticket.notes],
        "transfers": [t.model_dump() for t in ticket.transfers],
        "closed_at": ticket.closed_at, "closed_by": ticket.closed_by, "outcome": ticket.outcome,
    }


def agent(profile: Agent, display_name: str) -> dict[str, Any]:
    """An agent as the presence box and the transfer list show them."""
    return {"name": profile.name, "display_name": display_name or profile.name,
            "presence": profile.presence, "capacity": profile.capacity,
            "skills": list(profile.skills), "active": profile.active, "free": profile.free,
            "average_rating": profile.average_rating, "rated": profile.rated}
