"""Human handoff: tickets, the agent queue, assignment and the live chat relay.

The bot opens a ticket when a conversation pauses; agents (web console, Telegram) claim,
answer, transfer, hand back and close it through :class:`HandoffService`, and every bot
process learns about each change from the service's event subscription. State lives behind
a :class:`HandoffStore`: :class:`MemoryHandoffStore` for one process, or
:class:`RedisHandoffStore` (``handoff.redis_store``) when processes share Redis.
"""

from handoff.errors import (
    AgentUnavailable,
    AlreadyRated,
    AtCapacity,
    BadRating,
    DuplicateTicket,
    HandoffError,
    HandoffUnavailable,
    InvalidRequest,
    NotAssigned,
    NotYourTicket,
    TicketClosed,
    UnknownAgent,
    UnknownTicket,
)
from handoff.events import Event, EventKind, Subscription
from handoff.feed import EventFeed
from handoff.memory import MemoryHandoffStore
from handoff.models import (
    MESSAGE_CAP,
    PRIORITY_NORMAL,
    PRIORITY_URGENT,
    SKILLS,
    Agent,
    ContextPacket,
    Message,
    Note,
    Ticket,
    Transfer,
    Waiting,
)
from handoff.redis_store import RedisHandoffStore
from handoff.service import HandoffService
from handoff.store import HandoffStore

__all__ = [
    "MESSAGE_CAP",
    "PRIORITY_NORMAL",
    "PRIORITY_URGENT",
    "SKILLS",
    "Agent",
    "AgentUnavailable",
    "AlreadyRated",
    "AtCapacity",
    "BadRating",
    "ContextPacket",
    "DuplicateTicket",
    "Event",
    "EventFeed",
    "EventKind",
    "HandoffError",
    "HandoffService",
    "HandoffStore",
    "HandoffUnavailable",
    "InvalidRequest",
    "MemoryHandoffStore",
    "Message",
    "NotAssigned",
    "NotYourTicket",
    "Note",
    "RedisHandoffStore",
    "Subscription",
    "Ticket",
    "TicketClosed",
    "Transfer",
    "UnknownAgent",
    "UnknownTicket",
    "Waiting",
]
