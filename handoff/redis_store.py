"""Redis handoff store: the production backend shared by several bot processes.

Keys (``P`` = ``{prefix}:handoff``):

* ``P:ticket:{id}`` the ticket as JSON;
* ``P:queue`` sorted set of queued ticket ids (score = created_at; the service sorts by
  priority first); ``P:waiting`` hash id → the ticket's :class:`Waiting` entry (JSON) and
  ``P:line:{skill}`` sorted set of the skill's queued ids (score = :meth:`Waiting.score`),
  so a newcomer's place is one ZRANK, not a read of the queue;
* ``P:held:{agent}`` set of the ids assigned to an agent (SCARD = the agent's load);
* ``P:open:{conversation}`` the id of the conversation's open ticket;
* ``P:agents`` set of agent names, ``P:agent:{name}`` hash (profile and rating counters),
  ``P:last_assigned`` sorted set (agent → time of their last new ticket);
* ``P:stats`` hash (``handle_time``, a moving average kept by a Lua script);
* ``P:events`` the pub/sub channel every bot process listens on.

Every ticket write is a WATCH/MULTI transaction that also moves the indexes, retried when
another client wrote first; that is what makes :meth:`HandoffStore.claim` have exactly one
winner across processes. Any Redis failure surfaces as :class:`HandoffUnavailable`. The
client is the process's (``config.backend``): the store never closes it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from redis import asyncio as aioredis
from redis.asyncio.client import Pipeline, PubSub
from redis.exceptions import RedisError, WatchError

from handoff.errors import AtCapacity, DuplicateTicket, HandoffUnavailable, UnknownTicket
from handoff.events import Event, Subscription, SubscriptionClosed
from handoff.models import SKILLS, Agent, Presence, Ticket, Waiting
from handoff.store import HandoffStore, IndexChange, Mutation, place_in

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How often a transaction is retried when other clients keep writing the same ticket.
MAX_RETRIES = 200

_EMA = """
local old = redis.call('HGET', KEYS[1], 'handle_time')
local value = tonumber(ARGV[1])
if old then
  old = tonumber(old)
  value = old + tonumber(ARGV[2]) * (value - old)
end
local text = string.format('%.6f', value)
redis.call('HSET', KEYS[1], 'handle_time', text)
return text
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisHandoffStore(HandoffStore):
    """Tickets as JSON strings; indexes as sets and sorted sets; events over pub/sub.

    ``closed_ttl`` (seconds) lets Redis forget closed tickets after a while; None keeps
    them (the operator decides how long transcripts with shopper data are kept).
    """

    def __init__(self, redis: aioredis.Redis, prefix: str = "kefu", *,
                 closed_ttl: int | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.closed_ttl = closed_ttl
        self._base = f"{prefix}:handoff"
        # Pub/sub channels are shared by every database of a server: name the database so
        # two kefu deployments on one Redis (db 0 and db 1) never hear each other's events.
        db = redis.connection_pool.connection_kwargs.get("db", 0)
        self.channel = f"{self._base}:db{db}:events"
        self._ema = redis.register_script(_EMA)

    # -- keys ----------------------------------------------------------------------------

    def _ticket_key(self, ticket_id: str) -> str:
        return f"{self._base}:ticket:{ticket_id}"

    def _held_key(self, agent: str) -> str:
        return f"{self._base}:held:{agent}"

    def _open_key(self, conversation: str) -> str:
        return f"{self._base}:open:{conversation}"

    def _agent_key(self, name: str) -> str:
        return f"{self._base}:agent:{name}"

    @property
    def _queue_key(self) -> str:
        return f"{self._base}:queue"

    @property
    def _waiting_key(self) -> str:
        return f"{self._base}:waiting"

    def _line_key(self, skill: str) -> str:
        return f"{self._base}:line:{skill}"

    @property
    def _agents_key(self) -> str:
        return f"{self._base}:agents"

    @property
    def _last_assigned_key(self) -> str:
        return f"{self._base}:last_assigned"

    @property
    def _stats_key(self) -> str:
        return f"{self._base}:stats"

    async def _call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except (RedisError, OSError) as exc:
            raise HandoffUnavailable(f"Redis unavailable: {exc}") from exc

    # -- tickets -------------------------------------------------------------------------

    def _index(self, pipe: Pipeline, old: Ticket | None, new: Ticket,
               open_id: str | None) -> None:
        """Queue the index moves for ``old`` → ``new`` inside a MULTI."""
        change = IndexChange.between(old, new)
        if change.queue_add:
            pipe.zadd(self._queue_key, {new.id: new.created_at})
            entry = new.waiting()
            pipe.hset(self._waiting_key, new.id, entry.to_json())
            for skill in SKILLS:  # a transfer may have moved it to another skill's line
                if skill == new.skill:
                    pipe.zadd(self._line_key(skill), {new.id: entry.score()})
                else:
                    pipe.zrem(self._line_key(skill), new.id)
        if change.queue_remove:
            pipe.zrem(self._queue_key, new.id)
            pipe.hdel(self._waiting_key, new.id)
            for skill in SKILLS:
                pipe.zrem(self._line_key(skill), new.id)
        if change.agent_remove:
            pipe.srem(self._held_key(change.agent_remove), new.id)
        if change.agent_add:
            pipe.sadd(self._held_key(change.agent_add), new.id)
            if change.newly_assigned:
                pipe.zadd(self._last_assigned_key, {change.agent_add: new.assigned_at or 0.0})
        if change.conversation_set and open_id != new.id:
            pipe.set(self._open_key(new.conversation), new.id)
        if change.conversation_clear and open_id == new.id:
            pipe.delete(self._open_key(new.conversation))
        if not new.is_open and self.closed_ttl:
            pipe.expire(self._ticket_key(new.id), self.closed_ttl)

    async def create(self, ticket: Ticket) -> tuple[Ticket, bool]:
        open_key = self._open_key(ticket.conversation)
        key = self._ticket_key(ticket.id)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for _ in range(MAX_RETRIES):
                    try:
                        await pipe.watch(open_key, key)
                        current = await pipe.get(open_key)
                        if current is not None:
                            raw = await pipe.get(self._ticket_key(_text(current)))
                            existing = Ticket.from_json(raw) if raw is not None else None
                            if existing is not None and existing.is_open:
                                return existing, False
                        if await pipe.exists(key):
                            raise DuplicateTicket(ticket.id)
                        pipe.multi()
                        pipe.set(key, ticket.to_json())
                        self._index(pipe, None, ticket, None)
                        await pipe.execute()
                        return ticket.model_copy(deep=True), True
                    except WatchError:
                        continue
        except (RedisError, OSError) as exc:
            raise HandoffUnavailable(f"Redis unavailable: {exc}") from exc
        raise HandoffUnavailable(f"conversation {ticket.conversation} is too busy to open")

    async def get(self, ticket_id: str) -> Ticket | None:
        raw = await self._call(self.redis.get(self._ticket_key(ticket_id)))
        return Ticket.from_json(raw) if raw is not None else None

    async def update(self, ticket_id: str, mutate: Mutation, *,
                     room_for: tuple[str, int] | None = None) -> Ticket:
        key = self._ticket_key(ticket_id)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for _ in range(MAX_RETRIES):
                    try:
                        return await self._update_once(pipe, key, ticket_id, mutate, room_for)
                    except WatchError:
                        continue
        except (RedisError, OSError) as exc:
            raise HandoffUnavailable(f"Redis unavailable: {exc}") from exc
        raise HandoffUnavailable(f"ticket {ticket_id} is changing too fast to update")

    async def _update_once(self, pipe: Pipeline, key: str, ticket_id: str, mutate: Mutation,
                           room_for: tuple[str, int] | None) -> Ticket:
        """One optimistic attempt: WATCH, read, check, MULTI/EXEC (WatchError = retry)."""
        await pipe.watch(key)
        raw = await pipe.get(key)
        if raw is None:
            raise UnknownTicket(ticket_id)
        old, new = Ticket.from_json(raw), Ticket.from_json(raw)  # cheaper than a deep copy
        mutate(new)
        open_key = self._open_key(old.conversation)
        await pipe.watch(open_key)
        current = await pipe.get(open_key)
        if room_for is not None:
            agent, capacity = room_for
            held = self._held_key(agent)
            await pipe.watch(held)
            members = {_text(m) for m in await pipe.smembers(held)}
            if len(members - {ticket_id}) >= capacity:
                raise AtCapacity(agent)
        pipe.multi()
        pipe.set(key, new.to_json())
        self._index(pipe, old, new, _text(current) if current is not None else None)
        await pipe.execute()
        return new

    async def _tickets(self, ids: list[Any]) -> list[Ticket]:
        if not ids:
            return []
        raws = await self._call(self.redis.mget([self._ticket_key(_text(i)) for i in ids]))
        return [Ticket.from_json(raw) for raw in raws if raw is not None]

    async def queued(self) -> list[Ticket]:
        ids = await self._call(self.redis.zrange(self._queue_key, 0, -1))
        tickets = [t for t in await self._tickets(ids) if t.status == "queued"]
        return sorted(tickets, key=Ticket.queue_key)

    async def waiting(self) -> list[Waiting]:
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrange(self._queue_key, 0, -1)
        pipe.hgetall(self._waiting_key)
        raw_ids, entries = await self._call(pipe.execute())
        found = {_text(k): v for k, v in entries.items()}
        ids = [_text(i) for i in raw_ids]
        queue = [Waiting.from_json(found[i]) for i in ids if i in found]
        if len(queue) < len(ids):
            # Tickets queued before this index existed (an upgrade): read them once more.
            missing = [i for i in ids if i not in found]
            queue += [t.waiting() for t in await self._tickets(missing) if t.status == "queued"]
        return sorted(queue)

    def _counted(self) -> Pipeline:
        """A MULTI that starts by counting the queue and its entries. The two differ only
        while tickets queued before the entries existed still wait: the caller then works
        from :meth:`waiting`, which reads those tickets."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.zcard(self._queue_key)
        pipe.hlen(self._waiting_key)
        return pipe

    async def place(self, ticket_id: str) -> tuple[Waiting, int] | None:
        pipe = self._counted()
        pipe.hget(self._waiting_key, ticket_id)
        queued, indexed, raw = await self._call(pipe.execute())
        if queued != indexed:
            return place_in(await self.waiting(), ticket_id)
        if raw is None:
            return None
        mine = Waiting.from_json(raw)
        rank = await self._call(self.redis.zrank(self._line_key(mine.skill), ticket_id))
        if not isinstance(rank, int):  # it left the queue between the two reads
            return None
        return mine, rank + 1

    async def queue_length(self, skill: str | None = None) -> int:
        pipe = self._counted()
        if skill is not None:
            pipe.zcard(self._line_key(skill))
        counts = await self._call(pipe.execute())
        if skill is None:
            return int(counts[0])
        if counts[0] != counts[1]:
            return sum(w.skill == skill for w in await self.waiting())
        return int(counts[2])

    async def tickets_of(self, agent: str) -> list[Ticket]:
        ids = await self._call(self.redis.smembers(self._held_key(agent)))
        tickets = [t for t in await self._tickets(sorted(ids)) if t.status == "assigned"
                   and t.assigned_to == agent]
        return sorted(tickets, key=lambda t: (t.assigned_at or 0.0, t.id))

    async def load_of(self, agent: str) -> int:
        return int(await self._call(self.redis.scard(self._held_key(agent))))

    async def open_ticket_of(self, conversation: str) -> Ticket | None:
        ticket_id = await self._call(self.redis.get(self._open_key(conversation)))
        if ticket_id is None:
            return None
        ticket = await self.get(_text(ticket_id))
        return ticket if ticket is not None and ticket.is_open else None

    # -- agents --------------------------------------------------------------------------

    async def save_agent(self, agent: Agent) -> Agent:
        profile = {"name": agent.name, "presence": agent.presence,
                   "capacity": str(agent.capacity), "skills": json.dumps(list(agent.skills)),
                   "last_seen": repr(agent.last_seen)}
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self._agent_key(agent.name), mapping=profile)  # type: ignore[arg-type]
        pipe.sadd(self._agents_key, agent.name)
        await self._call(pipe.execute())
        saved = await self.get_agent(agent.name)
        assert saved is not None
        return saved

    async def _load_agents(self, names: list[str]) -> list[Agent]:
        if not names:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(self._agent_key(name))
            pipe.scard(self._held_key(name))
            pipe.zscore(self._last_assigned_key, name)
        replies = await self._call(pipe.execute())
        agents = []
        for i in range(0, len(replies), 3):
            fields, active, last_assigned = replies[i:i + 3]
            data = {_text(k): _text(v) for k, v in (fields or {}).items()}
            if "name" in data:
                agents.append(_agent(data, int(active), last_assigned))
        return agents

    async def get_agent(self, name: str) -> Agent | None:
        found = await self._load_agents([name])
        return found[0] if found else None

    async def list_agents(self) -> list[Agent]:
        names = await self._call(self.redis.smembers(self._agents_key))
        return await self._load_agents(sorted(_text(n) for n in names))

    async def set_presence(self, name: str, presence: Presence, ts: float) -> Agent | None:
        key = self._agent_key(name)
        if not await self._call(self.redis.exists(key)):
            return None
        await self._call(self.redis.hset(key, mapping={"presence": presence,
                                                      "last_seen": repr(ts)}))
        return await self.get_agent(name)

    async def add_rating(self, name: str, rating: int) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hincrby(self._agent_key(name), "rated", 1)
        pipe.hincrby(self._agent_key(name), "rating_sum", rating)
        await self._call(pipe.execute())

    # -- statistics ----------------------------------------------------------------------

    async def handle_time(self) -> float | None:
        raw = await self._call(self.redis.hget(self._stats_key, "handle_time"))
        return float(raw) if raw is not None else None

    async def record_handle_time(self, seconds: float, weight: float) -> float:
        raw = await self._call(self._ema(keys=[self._stats_key], args=[seconds, weight]))
        return float(raw)

    # -- events --------------------------------------------------------------------------

    async def publish(self, event: Event) -> None:
        await self._call(self.redis.publish(self.channel, event.to_json()))

    def subscribe(self) -> Subscription:
        return RedisSubscription(self.redis, self.channel)

    # -- lifecycle -----------------------------------------------------------------------

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False


def _agent(data: dict[str, str], active: int, last_assigned: float | None) -> Agent:
    """An Agent from its hash fields (counters may be missing before the first rating)."""
    skills = json.loads(data["skills"]) if "skills" in data else None
    return Agent.model_validate({
        "name": data["name"], "presence": data.get("presence", "offline"),
        "capacity": int(data.get("capacity", 5)),
        **({"skills": tuple(skills)} if skills is not None else {}),
        "active": active, "rated": int(data.get("rated", 0)),
        "rating_sum": int(data.get("rating_sum", 0)),
        "last_seen": float(data.get("last_seen", 0.0)),
        "last_assigned_at": float(last_assigned) if last_assigned is not None else None,
    })


class RedisSubscription(Subscription):
    """Pub/sub on the events channel that outlives Redis restarts.

    A lost connection is logged and retried with exponential backoff (``backoff`` doubling
    up to ``max_backoff`` seconds); the reader just waits meanwhile. Events published while
    the connection was down are lost (pub/sub keeps nothing), so consumers that need the
    truth re-read tickets from the store after a gap.
    """

    def __init__(self, redis: aioredis.Redis, channel: str, *, backoff: float = 0.2,
                 max_backoff: float = 10.0, poll: float = 1.0) -> None:
        super().__init__()
        self.redis = redis
        self.channel = channel
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.poll = poll
        self.reconnects = 0
        self._pubsub: PubSub | None = None
        self._delay = backoff

    async def _start(self) -> None:
        try:
            await self._connect()
        except Exception as exc:  # a subscriber must never crash the process
            log.warning("handoff events: cannot subscribe yet (%s); will retry", exc)
            await self._drop()

    async def _connect(self) -> None:
        pubsub = self.redis.pubsub()
        self._pubsub = pubsub
        await pubsub.subscribe(self.channel)
        async with asyncio.timeout(5):
            while True:
                message = await pubsub.get_message(timeout=self.poll)
                if message is not None and message.get("type") == "subscribe":
                    break
        self._delay = self.backoff

    async def _drop(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await pubsub.aclose()
            except Exception:  # already broken; nothing to release
                pass

    async def _wait(self) -> None:
        await asyncio.sleep(self._delay)
        self._delay = min(self._delay * 2, self.max_backoff)

    async def _next(self) -> Event:
        while not self._closed:
            if self._pubsub is None:
                try:
                    await self._connect()
                    self.reconnects += 1
                    log.info("handoff events: subscribed again to %s", self.channel)
                except Exception as exc:  # log and retry, never crash
                    log.warning("handoff events: Redis unreachable (%s); retrying in %.1fs",
                                exc, self._delay)
                    await self._drop()
                    await self._wait()
                continue
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=True,
                                                         timeout=self.poll)
            except Exception as exc:  # log and retry, never crash
                if self._closed:
                    break
                log.warning("handoff events: connection lost (%s); reconnecting", exc)
                await self._drop()
                await self._wait()
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                return Event.from_json(message["data"])
            except ValueError as exc:
                log.warning("handoff events: ignored a malformed event: %s", exc)
        raise SubscriptionClosed

    async def _close(self) -> None:
        await self._drop()

