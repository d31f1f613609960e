"""The records a handoff keeps: tickets, their context and chat, and agents.

Pydantic models so that a ticket read back from Redis is validated (a status outside its
Literal fails loudly) and every record round-trips through JSON with ``to_json``/``from_json``.
Times are Unix seconds from the service's clock.
"""

from __future__ import annotations

import json
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

Skill = Literal["presale", "after_sales"]
SKILLS: tuple[Skill, ...] = ("presale", "after_sales")
Status = Literal["queued", "assigned", "closed"]
Outcome = Literal["closed", "handed_back"]
Presence = Literal["online", "away", "offline"]
PRESENCES: tuple[Presence, ...] = ("online", "away", "offline")
MessageRole = Literal["shopper", "agent", "system"]

#: Complaints and angry shoppers are served before everyone else.
PRIORITY_URGENT = 0
PRIORITY_NORMAL = 1
#: Live-chat lines kept per ticket (the oldest are dropped first).
MESSAGE_CAP = 500


class Record(BaseModel):
    """Shared config: unknown keys from a newer version are ignored, not fatal."""

    model_config = ConfigDict(extra="ignore")

    def to_json(self) -> str:
        return self.model_dump_json()


class ContextPacket(Record):
    """What the bot knew when it handed over, so the agent does not ask again."""

    transcript: list[dict[str, Any]] = Field(default_factory=list)
    turns: list[dict[str, Any]] = Field(default_factory=list)
    slots: dict[str, Any] = Field(default_factory=dict)
    anger: float = 0.0
    reason: str = ""
    summary: str = ""
    attachments: list[str] = Field(default_factory=list)


class Note(Record):
    """An internal remark between agents; the shopper never sees it."""

    author: str
    text: str
    ts: float


class Message(Record):
    """One line of the live chat after the handoff."""

    role: MessageRole
    author: str
    text: str
    ts: float
    attachment: str | None = None


class Transfer(Record):
    """One move of a ticket to another agent or skill queue."""

    by: str
    from_agent: str | None
    to_agent: str | None
    from_skill: Skill
    to_skill: Skill
    ts: float


class Ticket(Record):
    """One handoff of one conversation to a human, from queue to close."""

    id: str
    conversation: str
    channel: str
    shopper_name: str = ""
    status: Status = "queued"
    reason: str = ""
    intent: str | None = None
    skill: Skill = "after_sales"
    priority: int = PRIORITY_NORMAL
    summary: str = ""
    context: ContextPacket = Field(default_factory=ContextPacket)
    created_at: float = 0.0
    assigned_to: str | None = None
    assigned_at: float | None = None
    closed_at: float | None = None
    closed_by: str | None = None
    outcome: Outcome | None = None
    rating: int | None = None
    notes: list[Note] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)
    left_message: str | None = None
    contact: str | None = None
    transfers: list[Transfer] = Field(default_factory=list)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Ticket:
        return cls.model_validate_json(raw)

    @property
    def is_open(self) -> bool:
        return self.status != "closed"

    def queue_key(self) -> tuple[int, float, str]:
        """Queue order: urgent first, then who has waited longest (id breaks exact ties)."""
        return (self.priority, self.created_at, self.id)

    def waiting(self) -> Waiting:
        """This (queued) ticket as the queue's index keeps it."""
        return Waiting(self.priority, self.created_at, self.id, self.skill, self.conversation,
                       bool(self.left_message))

    def add_message(self, message: Message) -> None:
        """Append a chat line, dropping the oldest beyond MESSAGE_CAP."""
        self.messages.append(message)
        if len(self.messages) > MESSAGE_CAP:
            del self.messages[: len(self.messages) - MESSAGE_CAP]


class Agent(Record):
    """A human agent. ``active`` and the rating counters are filled in by the store."""

    name: str
    presence: Presence = "offline"
    capacity: int = 5
    skills: tuple[Skill, ...] = SKILLS
    active: int = 0
    rated: int = 0
    rating_sum: int = 0
    last_seen: float = 0.0
    last_assigned_at: float | None = None

    @classmethod
    def from_json(cls, raw: str | bytes) -> Agent:
        return cls.model_validate_json(raw)

    @property
    def average_rating(self) -> float | None:
        return self.rating_sum / self.rated if self.rated else None

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.active)


class Waiting(NamedTuple):
    """A queued ticket as the queue sees it, kept by the store beside the ticket.

    Placing, counting and sweeping the queue read these instead of whole tickets (with
    their transcripts): a rush of a thousand requests for a person would otherwise parse
    the whole queue for every newcomer. The fields start with the queue order, so sorting
    the tuples sorts the queue.
    """

    priority: int
    created_at: float
    id: str
    skill: str
    conversation: str
    left_message: bool

    def score(self) -> float:
        """The queue order as one number (for a sorted set): priority, then created_at (Unix
        seconds stay below 1e10 until the year 2286; equal scores sort by id, as here)."""
        return self.priority * 1e10 + self.created_at

    def to_json(self) -> str:
        return json.dumps(list(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Waiting:
        priority, created_at, ticket_id, skill, conversation, left_message = json.loads(raw)
        return cls(int(priority), float(created_at), str(ticket_id), str(skill),
                   str(conversation), bool(left_message))
