"""In-process handoff store: the embedded default (one bot process, nothing to install).

Tickets and agents are kept as JSON strings so callers never share mutable objects with the
store. No method awaits between reading and writing, so each one is atomic under asyncio.
"""

from __future__ import annotations

from handoff.errors import AtCapacity, DuplicateTicket, UnknownTicket
from handoff.events import Event, QueueSubscription, Subscription
from handoff.models import Agent, Presence, Ticket, Waiting
from handoff.store import HandoffStore, IndexChange, Mutation, place_in


class MemoryHandoffStore(HandoffStore):
    """Dicts and sets; events fan out to asyncio queues of this process only."""

    def __init__(self) -> None:
        self._tickets: dict[str, str] = {}
        self._queue: dict[str, Waiting] = {}
        self._held: dict[str, set[str]] = {}
        self._open: dict[str, str] = {}
        self._agents: dict[str, str] = {}
        self._ratings: dict[str, tuple[int, int]] = {}
        self._last_assigned: dict[str, float] = {}
        self._handle_time: float | None = None
        self._subscribers: set[QueueSubscription] = set()

    # -- tickets -------------------------------------------------------------------------

    def _load(self, ticket_id: str) -> Ticket | None:
        raw = self._tickets.get(ticket_id)
        return Ticket.from_json(raw) if raw is not None else None

    def _write(self, old: Ticket | None, new: Ticket) -> None:
        self._tickets[new.id] = new.to_json()
        change = IndexChange.between(old, new)
        if change.queue_add:
            self._queue[new.id] = new.waiting()
        if change.queue_remove:
            self._queue.pop(new.id, None)
        if change.agent_remove:
            self._held.get(change.agent_remove, set()).discard(new.id)
        if change.agent_add:
            self._held.setdefault(change.agent_add, set()).add(new.id)
        if change.newly_assigned and change.agent_add:
            self._last_assigned[change.agent_add] = new.assigned_at or 0.0
        if change.conversation_set:
            self._open[new.conversation] = new.id
        if change.conversation_clear and self._open.get(new.conversation) == new.id:
            del self._open[new.conversation]

    async def create(self, ticket: Ticket) -> tuple[Ticket, bool]:
        existing = self._open_ticket(ticket.conversation)
        if existing is not None:
            return existing, False
        if ticket.id in self._tickets:
            raise DuplicateTicket(ticket.id)
        self._write(None, ticket)
        return Ticket.from_json(self._tickets[ticket.id]), True

    async def get(self, ticket_id: str) -> Ticket | None:
        return self._load(ticket_id)

    async def update(self, ticket_id: str, mutate: Mutation, *,
                     room_for: tuple[str, int] | None = None) -> Ticket:
        raw = self._tickets.get(ticket_id)
        if raw is None:
            raise UnknownTicket(ticket_id)
        # Two parses of the stored JSON (pydantic-core, in Rust) instead of a deep copy in
        # Python, which cost milliseconds for a ticket with a long transcript. The store
        # keeps only JSON, so the returned ticket shares nothing with it.
        old, new = Ticket.from_json(raw), Ticket.from_json(raw)
        mutate(new)
        if room_for is not None:
            agent, capacity = room_for
            load = len(self._held.get(agent, set()) - {ticket_id})
            if load >= capacity:
                raise AtCapacity(agent)
        self._write(old, new)
        return new

    async def queued(self) -> list[Ticket]:
        return [t for w in sorted(self._queue.values()) if (t := self._load(w.id)) is not None]

    async def waiting(self) -> list[Waiting]:
        return sorted(self._queue.values())

    async def place(self, ticket_id: str) -> tuple[Waiting, int] | None:
        return place_in(self._queue.values(), ticket_id)

    async def queue_length(self, skill: str | None = None) -> int:
        if skill is None:
            return len(self._queue)
        return sum(w.skill == skill for w in self._queue.values())

    async def tickets_of(self, agent: str) -> list[Ticket]:
        tickets = [t for t in map(self._load, self._held.get(agent, ())) if t is not None]
        return sorted(tickets, key=lambda t: (t.assigned_at or 0.0, t.id))

    async def load_of(self, agent: str) -> int:
        return len(self._held.get(agent, ()))

    async def open_ticket_of(self, conversation: str) -> Ticket | None:
        return self._open_ticket(conversation)

    def _open_ticket(self, conversation: str) -> Ticket | None:
        ticket_id = self._open.get(conversation)
        ticket = self._load(ticket_id) if ticket_id else None
        return ticket if ticket is not None and ticket.is_open else None

    # -- agents --------------------------------------------------------------------------

    def _agent(self, name: str) -> Agent | None:
        raw = self._agents.get(name)
        if raw is None:
            return None
        agent = Agent.from_json(raw)
        agent.active = len(self._held.get(name, ()))
        agent.rated, agent.rating_sum = self._ratings.get(name, (0, 0))
        agent.last_assigned_at = self._last_assigned.get(name)
        return agent

    async def save_agent(self, agent: Agent) -> Agent:
        self._agents[agent.name] = agent.to_json()
        saved = self._agent(agent.name)
        assert saved is not None
        return saved

    async def get_agent(self, name: str) -> Agent | None:
        return self._agent(name)

    async def list_agents(self) -> list[Agent]:
        return [a for a in map(self._agent, sorted(self._agents)) if a is not None]

    async def set_presence(self, name: str, presence: Presence, ts: float) -> Agent | None:
        agent = self._agent(name)
        if agent is None:
            return None
        return await self.save_agent(agent.model_copy(update={"presence": presence,
                                                                "last_seen": ts}))

    async def add_rating(self, name: str, rating: int) -> None:
        rated, total = self._ratings.get(name, (0, 0))
        self._ratings[name] = (rated + 1, total + rating)

    # -- statistics ----------------------------------------------------------------------

    async def handle_time(self) -> float | None:
        return self._handle_time

    async def record_handle_time(self, seconds: float, weight: float) -> float:
        old = self._handle_time
        self._handle_time = seconds if old is None else old + weight * (seconds - old)
        return self._handle_time

    # -- events --------------------------------------------------------------------------

    async def publish(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            subscriber.deliver(event.model_copy(deep=True))

    def subscribe(self) -> Subscription:
        return QueueSubscription(self._subscribers)
