"""HandoffService: the one API the bot, the web console and Telegram call.

It owns the rules (who may do what to a ticket, routing, wait estimates, presence TTL) and
leaves storage and atomicity to a :class:`HandoffStore`. Every change publishes an
:class:`Event`, which is how a channel learns it must deliver an agent's reply or tell an
agent that a ticket is theirs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from handoff import routing
from handoff.errors import (
    AgentUnavailable,
    AlreadyRated,
    BadRating,
    DuplicateTicket,
    InvalidRequest,
    NotAssigned,
    NotYourTicket,
    TicketClosed,
    UnknownAgent,
    UnknownTicket,
)
from handoff.events import Event, EventKind, Subscription
from handoff.models import (
    PRESENCES,
    SKILLS,
    Agent,
    ContextPacket,
    Message,
    Note,
    Skill,
    Ticket,
    Transfer,
    Waiting,
)
from handoff.store import HandoffStore

#: Draws of a fresh id before giving up (a clash of 48 random bits is already rare).
ID_ATTEMPTS = 5


def new_ticket_id() -> str:
    """Short enough to read out on the phone, random enough not to be guessed or reused."""
    return uuid.uuid4().hex[:12]


def _require_open(ticket: Ticket) -> None:
    if not ticket.is_open:
        raise TicketClosed(ticket.id)


def _require_holder(ticket: Ticket, agent: str) -> None:
    """Only the agent a ticket is assigned to may speak for it or end it."""
    _require_open(ticket)
    if ticket.status != "assigned":
        raise NotAssigned(ticket.id)
    if ticket.assigned_to != agent:
        raise NotYourTicket(f"ticket {ticket.id} is assigned to someone else")


def _check_skill(skill: str) -> Skill:
    if skill not in SKILLS:
        raise InvalidRequest(f"unknown skill {skill!r}; expected one of {SKILLS}")
    return skill


class HandoffService:
    """Queue, assignment, live chat relay and closing of handoff tickets.

    ``clock`` is injectable so tests advance time instead of sleeping. ``presence_ttl`` is
    how long a presence heartbeat counts; ``queue_limit`` is the queue length beyond which
    :meth:`busy` says so; ``handle_time_weight`` is how fast the learned average handle
    time follows new tickets.
    """

    def __init__(self, store: HandoffStore, *, clock: Callable[[], float] = time.time,
                 default_capacity: int = 5, queue_limit: int = 20, presence_ttl: float = 120,
                 handle_time_weight: float = 0.2) -> None:
        self.store = store
        self.clock = clock
        self.default_capacity = default_capacity
        self.queue_limit = queue_limit
        self.presence_ttl = presence_ttl
        self.handle_time_weight = handle_time_weight

    # -- opening and assigning -----------------------------------------------------------

    async def open(self, *, conversation: str, channel: str, shopper_name: str, reason: str,
                   intent: str | None, skill: str, priority: int, summary: str,
                   context: ContextPacket | dict[str, Any] | None = None) -> Ticket:
        """Queue a ticket for the conversation and try to give it to an agent at once.

        Idempotent: while the conversation has an open ticket, that ticket is returned
        unchanged (a shopper asking twice for a human does not queue twice).
        """
        skill = _check_skill(skill)
        existing = await self.store.open_ticket_of(conversation)
        if existing is not None:
            return existing
        packet = (context.model_copy(deep=True) if isinstance(context, ContextPacket)
                  else ContextPacket.model_validate(context or {}))
        packet.reason = packet.reason or reason
        packet.summary = packet.summary or summary
        ticket = Ticket(id=new_ticket_id(), conversation=conversation, channel=channel,
                        shopper_name=shopper_name, reason=reason, intent=intent, skill=skill,
                        priority=priority, summary=summary, context=packet,
                        created_at=self.clock())
        for _ in range(ID_ATTEMPTS):
            try:
                ticket, created = await self.store.create(ticket)
                break
            except DuplicateTicket:  # the id was taken: draw another
                ticket.id = new_ticket_id()
        else:
            raise InvalidRequest("could not draw an unused ticket id")
        if not created:
            return ticket
        await self._publish("ticket_opened", ticket, data={
            "skill": ticket.skill, "priority": ticket.priority, "reason": ticket.reason,
            "summary": ticket.summary, "shopper_name": ticket.shopper_name,
            "channel": ticket.channel})
        return await self.auto_assign(ticket.id)

    async def auto_assign(self, ticket_id: str) -> Ticket:
        """Give a queued ticket to the best free online agent with its skill, if any.

        Best = least loaded, then longest since their last new ticket (see routing). An
        agent who transferred the ticket away is never offered it again (they may still
        claim it). Returns the ticket as it is afterwards (still queued when nobody was free).
        """
        ticket = await self._get(ticket_id)
        if ticket.status != "queued":
            return ticket
        now = self.clock()
        gave_away = {t.from_agent for t in ticket.transfers if t.from_agent}
        agents = [a for a in await self.store.list_agents() if a.name not in gave_away]
        for agent in routing.candidates(agents, ticket.skill, now, self.presence_ttl):
            if await self.store.claim(ticket_id, agent.name, agent.capacity, now=now):
                assigned = await self._get(ticket_id)
                await self._publish("ticket_assigned", assigned, agent=agent.name,
                                    data={"auto": True, "skill": assigned.skill})
                return assigned
            ticket = await self._get(ticket_id)
            if ticket.status != "queued":
                return ticket
        return ticket

    async def claim(self, ticket_id: str, agent: str) -> Ticket | None:
        """The agent takes a queued ticket. None when someone else was faster or the agent
        has no free seat; claiming a ticket one already holds returns it again."""
        ticket = await self._get(ticket_id)
        _require_open(ticket)
        profile = await self.store.get_agent(agent)
        capacity = profile.capacity if profile is not None else self.default_capacity
        if await self.store.claim(ticket_id, agent, capacity, now=self.clock()):
            assigned = await self._get(ticket_id)
            await self._publish("ticket_assigned", assigned, agent=agent,
                                data={"auto": False, "skill": assigned.skill})
            return assigned
        ticket = await self._get(ticket_id)
        if ticket.status == "assigned" and ticket.assigned_to == agent:
            return ticket
        return None

    async def _refill(self, agent: str) -> None:
        """After an agent got a free seat (or came online), serve the queue of their skills."""
        profile = await self.store.get_agent(agent)
        if profile is None:
            return
        stuck: set[str] = set()
        for entry in await self.store.waiting():
            if entry.skill not in profile.skills or entry.skill in stuck:
                continue
            if (await self.auto_assign(entry.id)).status == "queued":
                stuck.add(entry.skill)  # nobody free for this skill: skip its other tickets

    # -- the queue -----------------------------------------------------------------------

    async def queue(self, skill: str | None = None) -> list[Ticket]:
        """Queued tickets (of one skill), complaints first, then longest waiting."""
        tickets = await self.store.queued()
        return [t for t in tickets if skill is None or t.skill == skill]

    async def waiting(self) -> list[Waiting]:
        """The same queue as :meth:`queue`, as index entries: cheap to walk."""
        return await self.store.waiting()

    async def position(self, ticket_id: str) -> tuple[int, float]:
        """(1-based place in its skill queue, estimated wait in minutes); (0, 0.0) if not queued.

        Wait = place × average handle time ÷ online agents with the skill (at least one),
        with the handle time learned from finished tickets (3 minutes until then).
        """
        found = await self.store.place(ticket_id)
        if found is None:
            await self._get(ticket_id)  # UnknownTicket for an id that never was
            return 0, 0.0
        mine, place = found
        online = routing.online_with(await self.store.list_agents(), mine.skill,
                                     self.clock(), self.presence_ttl)
        handle = await self.store.handle_time()
        return place, routing.estimate_wait(place, handle, len(online))

    async def tickets_of(self, agent: str) -> list[Ticket]:
        """The tickets the agent holds now, oldest assignment first."""
        return await self.store.tickets_of(agent)

    # -- moving a ticket -----------------------------------------------------------------

    async def transfer(self, ticket_id: str, by: str, to_agent: str | None = None,
                       to_skill: str | None = None) -> Ticket:
        """Move a ticket to another agent (who must be online with a free seat) or back to
        the queue of a skill. An assigned ticket can only be moved by its agent. It keeps
        its original wait start, so a transferred shopper does not queue from the back, and
        is not routed back to the agent who gave it away."""
        if to_agent is None and to_skill is None:
            raise InvalidRequest("transfer needs to_agent or to_skill")
        new_skill = _check_skill(to_skill) if to_skill is not None else None
        ticket = await self._get(ticket_id)
        now = self.clock()
        target: Agent | None = None
        if to_agent is not None:
            if to_agent == ticket.assigned_to and ticket.status == "assigned":
                raise InvalidRequest(f"ticket {ticket_id} is already {to_agent}'s")
            target = await self.store.get_agent(to_agent)
            if target is None:
                raise UnknownAgent(to_agent)
            if routing.effective_presence(target, now, self.presence_ttl) != "online":
                raise AgentUnavailable(to_agent)

        def move(t: Ticket) -> None:
            _require_open(t)
            if t.status == "assigned" and t.assigned_to != by:
                raise NotYourTicket(f"ticket {t.id} is assigned to someone else")
            skill = new_skill or t.skill
            t.transfers.append(Transfer(by=by, from_agent=t.assigned_to if t.status ==
                                        "assigned" else None, to_agent=to_agent,
                                        from_skill=t.skill, to_skill=skill, ts=now))
            t.skill = skill
            t.status = "assigned" if to_agent else "queued"
            t.assigned_to = to_agent
            t.assigned_at = now if to_agent else None

        room = (target.name, target.capacity) if target is not None else None
        moved = await self.store.update(ticket_id, move, room_for=room)
        previous = ticket.assigned_to if ticket.status == "assigned" else None
        await self._publish("ticket_transferred", moved, agent=to_agent, data={
            "by": by, "from_agent": previous, "from_skill": ticket.skill,
            "to_skill": moved.skill})
        if moved.status == "queued":
            moved = await self.auto_assign(ticket_id)
        if previous:
            await self._refill(previous)
            moved = await self._get(ticket_id)
        return moved

    async def note(self, ticket_id: str, author: str, text: str) -> Ticket:
        """An internal note for the agents (allowed on closed tickets too, for follow-ups)."""
        now = self.clock()
        noted = await self.store.update(
            ticket_id, lambda t: t.notes.append(Note(author=author, text=text, ts=now)))
        await self._publish("note_added", noted, agent=author, data={"text": text})
        return noted

    # -- the live chat -------------------------------------------------------------------

    async def shopper_message(self, conversation: str, text: str,
                              attachment: str | None = None) -> Ticket | None:
        """Record what the shopper wrote while handed off; None when there is no open ticket
        (the bot should answer it itself)."""
        ticket = await self.store.open_ticket_of(conversation)
        if ticket is None:
            return None
        now = self.clock()

        def add(t: Ticket) -> None:
            _require_open(t)
            t.add_message(Message(role="shopper", author=t.shopper_name, text=text, ts=now,
                                  attachment=attachment))
            if attachment:
                t.context.attachments.append(attachment)

        try:
            updated = await self.store.update(ticket.id, add)
        except TicketClosed:
            return None
        await self._publish("shopper_message", updated, agent=updated.assigned_to,
                            data={"text": text, "attachment": attachment})
        return updated

    async def agent_message(self, ticket_id: str, agent: str, text: str,
                            shown_in: str | None = None) -> Ticket:
        """Record the assigned agent's reply; the channel delivers it on the event.

        ``shown_in`` names a shopper channel that already showed the message as itself (a
        photo sent to a Telegram shopper): it records ``text`` but sends no copy of it.
        """
        now = self.clock()

        def add(t: Ticket) -> None:
            _require_holder(t, agent)
            t.add_message(Message(role="agent", author=agent, text=text, ts=now))

        updated = await self.store.update(ticket_id, add)
        data = {"text": text, "channel": updated.channel}
        if shown_in:
            data["shown_in"] = shown_in
        await self._publish("agent_message", updated, agent=agent, data=data)
        return updated

    async def leave_message(self, ticket_id: str, text: str, contact: str | None) -> Ticket:
        """The shopper leaves a message (and a way to reach them) instead of waiting.

        The ticket stays open in the queue so an agent follows up; a later call replaces
        the message.
        """

        def put(t: Ticket) -> None:
            _require_open(t)
            t.left_message = text
            t.contact = contact

        updated = await self.store.update(ticket_id, put)
        await self._publish("left_message", updated, agent=updated.assigned_to,
                            data={"text": text, "contact": contact})
        return updated

    # -- ending --------------------------------------------------------------------------

    async def hand_back(self, ticket_id: str, agent: str) -> Ticket:
        """The agent returns the shopper to the bot; frees their seat."""
        return await self._finish(ticket_id, agent, "handed_back")

    async def close(self, ticket_id: str, agent: str) -> Ticket:
        """The conversation is done; frees the seat. A queued ticket may be closed by any
        agent (e.g. after answering a left message by phone)."""
        return await self._finish(ticket_id, agent, "closed")

    async def _finish(self, ticket_id: str, agent: str, outcome: str) -> Ticket:
        now = self.clock()

        def end(t: Ticket) -> None:
            if t.status == "queued" and outcome == "closed":
                _require_open(t)
            else:
                _require_holder(t, agent)
            t.status = "closed"
            t.outcome = "closed" if outcome == "closed" else "handed_back"
            t.closed_at = now
            t.closed_by = agent

        ended = await self.store.update(ticket_id, end)
        if ended.assigned_at is not None:
            await self.store.record_handle_time(max(0.0, now - ended.assigned_at),
                                                self.handle_time_weight)
        kind: EventKind = "ticket_closed" if outcome == "closed" else "handed_back"
        await self._publish(kind, ended, agent=agent, data={"outcome": ended.outcome})
        if ended.assigned_to is not None:
            await self._refill(ended.assigned_to)
        return ended

    async def rate(self, ticket_id: str, rating: int) -> Ticket:
        """The shopper's 1..5 rating, once per ticket; counted for the agent who served."""
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise BadRating(f"rating must be an integer 1..5, not {rating!r}")

        def put(t: Ticket) -> None:
            if t.rating is not None:
                raise AlreadyRated(t.id)
            t.rating = rating

        rated = await self.store.update(ticket_id, put)
        agent = rated.assigned_to or rated.closed_by
        if agent:
            await self.store.add_rating(agent, rating)
        await self._publish("rated", rated, agent=agent, data={"rating": rating})
        return rated

    # -- agents --------------------------------------------------------------------------

    async def renew_presence(self, agent: str) -> Agent | None:
        """Keep an agent's chosen presence alive (the one heartbeat every client calls:
        an open console, the Telegram desk); an agent who chose offline stays offline."""
        profile = await self.store.get_agent(agent)
        if profile is None or profile.presence == "offline":
            return profile
        return await self.set_presence(agent, profile.presence)

    async def set_presence(self, agent: str, presence: str, *, capacity: int | None = None,
                           skills: Iterable[str] | None = None) -> Agent:
        """Set (or heartbeat) an agent's presence; also registers a new agent.

        Call it at least every ``presence_ttl`` seconds while online. Coming online (or any
        heartbeat while online) serves the queue of the agent's skills.
        """
        if presence not in PRESENCES:
            raise InvalidRequest(f"unknown presence {presence!r}; expected one of {PRESENCES}")
        if capacity is not None and (isinstance(capacity, bool) or capacity < 0):
            raise InvalidRequest(f"capacity must be >= 0, not {capacity!r}")
        now = self.clock()
        before = await self.store.get_agent(agent)
        profile = Agent(
            name=agent, presence=presence,
            capacity=capacity if capacity is not None else (
                before.capacity if before else self.default_capacity),
            skills=tuple(_check_skill(s) for s in skills) if skills is not None else (
                before.skills if before else SKILLS),
            last_seen=now)
        saved = await self.store.save_agent(profile)
        changed = before is None or (
            routing.effective_presence(before, now, self.presence_ttl) != saved.presence
            or before.capacity != saved.capacity or before.skills != saved.skills)
        if changed:
            await self.store.publish(Event(kind="presence", agent=agent, ts=now, data={
                "presence": saved.presence, "capacity": saved.capacity,
                "skills": list(saved.skills)}))
        if presence == "online":
            await self._refill(agent)
            saved = await self.store.get_agent(agent) or saved
        return saved

    async def agents(self) -> list[Agent]:
        """Every agent, with presence as it counts now (expired heartbeat = offline)."""
        now = self.clock()
        return [routing.seen_now(a, now, self.presence_ttl)
                for a in await self.store.list_agents()]

    async def agent(self, name: str) -> Agent | None:
        """One agent as :meth:`agents` shows them, or None."""
        found = await self.store.get_agent(name)
        return routing.seen_now(found, self.clock(), self.presence_ttl) if found else None

    async def anyone_online(self, skill: str | None = None) -> bool:
        """Is any agent (with the skill) online now?"""
        agents = await self.store.list_agents()
        return bool(routing.online_with(agents, skill, self.clock(), self.presence_ttl))

    async def busy(self, skill: str | None = None) -> bool:
        """Would a new ticket (of the skill) have to wait long?

        True when no online agent (with the skill) has a free seat, which includes nobody
        being online (ask :meth:`anyone_online` to tell the two apart), or when more than
        ``queue_limit`` tickets are already queued.
        """
        agents = await self.store.list_agents()
        online = routing.online_with(agents, skill, self.clock(), self.presence_ttl)
        if all(a.active >= a.capacity for a in online):
            return True
        return await self.store.queue_length(skill) > self.queue_limit

    # -- reading -------------------------------------------------------------------------

    async def ticket(self, ticket_id: str) -> Ticket | None:
        return await self.store.get(ticket_id)

    async def open_ticket_of(self, conversation: str) -> Ticket | None:
        return await self.store.open_ticket_of(conversation)

    def events(self) -> Subscription:
        """A subscription to every handoff event (from every bot process on Redis).

        ``async with service.events() as events: async for event in events: ...``
        """
        return self.store.subscribe()

    # -- helpers -------------------------------------------------------------------------

    async def _get(self, ticket_id: str) -> Ticket:
        ticket = await self.store.get(ticket_id)
        if ticket is None:
            raise UnknownTicket(ticket_id)
        return ticket

    async def _publish(self, kind: EventKind, ticket: Ticket, *, agent: str | None = None,
                       data: dict[str, Any] | None = None) -> None:
        await self.store.publish(Event(kind=kind, ticket_id=ticket.id,
                                       conversation=ticket.conversation, agent=agent,
                                       data=data or {}, ts=self.clock()))

