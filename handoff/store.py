"""The handoff store contract shared by the memory and Redis backends.

A store keeps tickets plus three indexes derived from them, always updated in the same
atomic step as the ticket itself so they cannot drift:

* the queue: queued tickets as :class:`Waiting` entries (order, skill, conversation);
* per agent, the ids of the tickets assigned to them (its size is the agent's load);
* per conversation, the id of its open ticket (at most one).

Every change to a ticket goes through :meth:`HandoffStore.update`, an atomic
read-modify-write (a WATCH/MULTI transaction on Redis), so two bot processes never lose
each other's writes and :meth:`HandoffStore.claim` has exactly one winner.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from handoff.errors import AtCapacity, HandoffError
from handoff.events import Event, Subscription
from handoff.models import Agent, Presence, Ticket, Waiting

Mutation = Callable[[Ticket], None]


class _LostRace(HandoffError):
    """Internal: the ticket was no longer queued when a claim looked at it."""


@dataclass(frozen=True)
class IndexChange:
    """How the indexes move when a ticket goes from ``old`` to ``new`` (old None = created)."""

    queue_add: bool
    queue_remove: bool
    agent_remove: str | None
    agent_add: str | None
    newly_assigned: bool
    conversation_set: bool
    conversation_clear: bool

    @classmethod
    def between(cls, old: Ticket | None, new: Ticket) -> IndexChange:
        old_agent = old.assigned_to if old is not None and old.status == "assigned" else None
        new_agent = new.assigned_to if new.status == "assigned" else None
        return cls(
            queue_add=new.status == "queued",
            queue_remove=new.status != "queued",
            agent_remove=old_agent if old_agent and old_agent != new_agent else None,
            agent_add=new_agent,
            newly_assigned=bool(new_agent) and new_agent != old_agent,
            conversation_set=new.is_open,
            conversation_clear=not new.is_open,
        )


class HandoffStore(ABC):
    """Abstract store; see MemoryHandoffStore and RedisHandoffStore."""

    # -- tickets -------------------------------------------------------------------------

    @abstractmethod
    async def create(self, ticket: Ticket) -> tuple[Ticket, bool]:
        """Save a new ticket unless its conversation already has an open one.

        Returns ``(ticket, True)`` when saved, ``(the open ticket, False)`` otherwise; the
        check and the write are one atomic step. An id already used raises DuplicateTicket.
        """

    @abstractmethod
    async def get(self, ticket_id: str) -> Ticket | None:
        """The ticket, or None."""

    @abstractmethod
    async def update(self, ticket_id: str, mutate: Mutation, *,
                     room_for: tuple[str, int] | None = None) -> Ticket:
        """Atomically load the ticket, apply ``mutate`` (in place) and save it.

        ``mutate`` may raise (a HandoffError) to abort without writing; it may run more than
        once when another process wrote in between, so it must only touch the ticket. With
        ``room_for=(agent, capacity)`` the write also requires the agent's load to be below
        ``capacity`` at commit time (else :class:`AtCapacity`). Raises UnknownTicket.
        """

    @abstractmethod
    async def queued(self) -> list[Ticket]:
        """Queued tickets, ordered by (priority, created_at)."""

    @abstractmethod
    async def waiting(self) -> list[Waiting]:
        """The queue in the same order, from the index (no ticket is read)."""

    @abstractmethod
    async def place(self, ticket_id: str) -> tuple[Waiting, int] | None:
        """A queued ticket's entry and its 1-based place in its skill's queue (None when it
        is not queued). Called for every shopper who joins: it must not read the queue."""

    @abstractmethod
    async def queue_length(self, skill: str | None = None) -> int:
        """How many tickets (of ``skill``) are queued, without reading them."""

    @abstractmethod
    async def tickets_of(self, agent: str) -> list[Ticket]:
        """Tickets assigned to ``agent``, oldest assignment first."""

    @abstractmethod
    async def load_of(self, agent: str) -> int:
        """How many tickets ``agent`` holds now."""

    @abstractmethod
    async def open_ticket_of(self, conversation: str) -> Ticket | None:
        """The conversation's open (queued or assigned) ticket, or None."""

    async def claim(self, ticket_id: str, agent: str, capacity: int, *, now: float) -> bool:
        """Assign a queued ticket to ``agent`` if they hold fewer than ``capacity``.

        Exactly one of any number of concurrent claimers (in any process) wins: the status
        check, the load check and the assignment commit together or not at all.
        """

        def take(ticket: Ticket) -> None:
            if ticket.status != "queued":
                raise _LostRace(ticket.id)
            ticket.status = "assigned"
            ticket.assigned_to = agent
            ticket.assigned_at = now

        try:
            await self.update(ticket_id, take, room_for=(agent, capacity))
        except (_LostRace, AtCapacity):
            return False
        return True

    # -- agents --------------------------------------------------------------------------

    @abstractmethod
    async def save_agent(self, agent: Agent) -> Agent:
        """Create or replace an agent's profile (name, presence, capacity, skills, last_seen).

        The counters (load, ratings, last assignment) are kept, never overwritten.
        """

    @abstractmethod
    async def get_agent(self, name: str) -> Agent | None:
        """The agent with ``active``, ratings and last assignment filled in, or None."""

    @abstractmethod
    async def list_agents(self) -> list[Agent]:
        """Every agent ever saved, by name."""

    @abstractmethod
    async def set_presence(self, name: str, presence: Presence, ts: float) -> Agent | None:
        """Record a presence heartbeat (presence and last-seen time); None if unknown."""

    @abstractmethod
    async def add_rating(self, name: str, rating: int) -> None:
        """Add one rating to the agent's counters."""

    # -- statistics ----------------------------------------------------------------------

    @abstractmethod
    async def handle_time(self) -> float | None:
        """The moving average of seconds an agent spends on a ticket, None before any."""

    @abstractmethod
    async def record_handle_time(self, seconds: float, weight: float) -> float:
        """Fold one handled ticket into the average (exponential, ``weight`` for the new one)."""

    # -- events --------------------------------------------------------------------------

    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Send an event to every subscriber (in every process sharing the backend)."""

    @abstractmethod
    def subscribe(self) -> Subscription:
        """A new subscription; enter it with ``async with`` before the events you need."""

    # -- lifecycle -----------------------------------------------------------------------

    async def ping(self) -> bool:
        """True when the backend answers."""
        return True

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the store holds itself (a shared Redis client is not the store's)."""


def place_in(queue: Iterable[Waiting], ticket_id: str) -> tuple[Waiting, int] | None:
    """:meth:`HandoffStore.place` worked out from the whole queue (in any order)."""
    entries = list(queue)
    mine = next((w for w in entries if w.id == ticket_id), None)
    if mine is None:
        return None
    return mine, 1 + sum(w.skill == mine.skill and w < mine for w in entries)
