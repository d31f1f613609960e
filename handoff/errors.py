"""What can go wrong in a handoff, as exception types callers can tell apart.

Wrong operations (an agent answering someone else's ticket, a second rating …) raise a
:class:`HandoffError` subclass, which a console shows to the agent. A backend that cannot be
reached raises :class:`HandoffUnavailable` instead, which the bot turns into a polite reply.
"""

from __future__ import annotations


class HandoffError(Exception):
    """A handoff operation that is not allowed in the ticket's current state."""


class UnknownTicket(HandoffError, LookupError):
    """No ticket has this id."""


class UnknownAgent(HandoffError, LookupError):
    """No agent of this name has ever set a presence."""


class NotYourTicket(HandoffError):
    """Only the assigned agent may answer, hand back, close or transfer an assigned ticket."""


class TicketClosed(HandoffError):
    """The ticket was closed or handed back; nothing more can happen to it but notes/rating."""


class NotAssigned(HandoffError):
    """The ticket waits in the queue; it needs an agent first."""


class AtCapacity(HandoffError):
    """The agent already holds as many tickets as their capacity allows."""


class AgentUnavailable(HandoffError):
    """The agent is not online (or their presence heartbeat expired)."""


class BadRating(HandoffError, ValueError):
    """A rating outside 1..5."""


class AlreadyRated(HandoffError):
    """A ticket is rated once."""


class InvalidRequest(HandoffError, ValueError):
    """An argument is not one of the allowed values (skill, presence, transfer target …)."""


class DuplicateTicket(InvalidRequest):
    """A new ticket's id is already taken (the service then draws another)."""


class HandoffUnavailable(RuntimeError):
    """The store cannot be reached; callers answer with a safe text instead of a traceback."""
