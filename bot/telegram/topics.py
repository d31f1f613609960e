"""Which forum topic of the agents' group belongs to which ticket, and back.

Every bot process follows every handoff event, and whichever one acts on an event must find
the ticket's topic (to post into it) and, for an agent writing in a topic, the topic's
ticket. So the mapping is shared like the other stores: in memory for one process, in Redis
(``{prefix}:tg:topic:{chat}:…``) for several. It also keeps two small things the agents'
side needs across processes:

* *echo marks*: a reply or note an agent typed in a topic is already there, so when its
  handoff event comes back it must not be posted again; one written in the web console must.
  ``expect_echo`` counts one pending echo, ``take_echo`` consumes one;
* the agents who set their presence from Telegram, whose presence the channel renews (the
  console renews its own from the open page; a group chat has no page to keep open).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from redis import asyncio as aioredis

from bot.storage import StoreUnavailable
from config.backend import Backend
from config.redis_client import UNAVAILABLE

#: A ticket rarely stays open for a month; the mapping outlives that with room to spare.
TOPIC_TTL = 30 * 86400.0
#: An agent's own message comes back as an event within a second; a minute is plenty.
ECHO_TTL = 60.0


class TopicStore(ABC):
    """ticket ↔ topic (message thread id) of one agents' chat, echo marks, Telegram agents."""

    @abstractmethod
    async def topic_of(self, ticket_id: str) -> int | None:
        """The ticket's topic, or None before one was opened."""

    @abstractmethod
    async def ticket_of(self, thread_id: int) -> str | None:
        """The ticket whose topic this is, or None (the General topic, agents' own topics)."""

    @abstractmethod
    async def link(self, ticket_id: str, thread_id: int) -> None:
        """Remember the ticket's (new) topic; its previous topic no longer maps to it."""

    @abstractmethod
    async def expect_echo(self, key: str) -> None:
        """One event for ``key`` will come back that must not be posted again."""

    @abstractmethod
    async def take_echo(self, key: str) -> bool:
        """Consume one expected echo of ``key``; False when none was expected."""

    @abstractmethod
    async def add_agent(self, name: str) -> None:
        """An agent set their presence from Telegram."""

    @abstractmethod
    async def agents(self) -> set[str]:
        """Agents who set their presence from Telegram."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class MemoryTopicStore(TopicStore):
    """Dicts; entries are dropped after ``ttl`` like the Redis keys."""

    def __init__(self, ttl: float = TOPIC_TTL, echo_ttl: float = ECHO_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.echo_ttl = echo_ttl
        self.clock = clock
        self._topics: dict[str, tuple[int, float]] = {}
        self._tickets: dict[int, tuple[str, float]] = {}
        self._echoes: dict[str, tuple[int, float]] = {}
        self._agents: set[str] = set()

    def _sweep(self) -> None:
        now = self.clock()
        if len(self._topics) + len(self._echoes) < 10_000:
            return
        for ticket in [k for k, (_, exp) in self._topics.items() if exp <= now]:
            del self._topics[ticket]
        for thread in [k for k, (_, exp) in self._tickets.items() if exp <= now]:
            del self._tickets[thread]
        for key in [k for k, (_, exp) in self._echoes.items() if exp <= now]:
            del self._echoes[key]

    async def topic_of(self, ticket_id: str) -> int | None:
        found = self._topics.get(ticket_id)
        return found[0] if found and found[1] > self.clock() else None

    async def ticket_of(self, thread_id: int) -> str | None:
        found = self._tickets.get(thread_id)
        return found[0] if found and found[1] > self.clock() else None

    async def link(self, ticket_id: str, thread_id: int) -> None:
        self._sweep()
        expires = self.clock() + self.ttl
        old = self._topics.get(ticket_id)
        if old is not None and old[0] != thread_id:
            self._tickets.pop(old[0], None)
        self._topics[ticket_id] = (thread_id, expires)
        self._tickets[thread_id] = (ticket_id, expires)

    async def expect_echo(self, key: str) -> None:
        self._sweep()
        now = self.clock()
        count, expires = self._echoes.get(key, (0, 0.0))
        self._echoes[key] = ((count if expires > now else 0) + 1, now + self.echo_ttl)

    async def take_echo(self, key: str) -> bool:
        count, expires = self._echoes.get(key, (0, 0.0))
        if count <= 0 or expires <= self.clock():
            self._echoes.pop(key, None)
            return False
        if count == 1:
            del self._echoes[key]
        else:
            self._echoes[key] = (count - 1, expires)
        return True

    async def add_agent(self, name: str) -> None:
        self._agents.add(name)

    async def agents(self) -> set[str]:
        return set(self._agents)


#: DECR that never goes below zero: True when an echo was pending.
_TAKE_ECHO = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n <= 0 then return 0 end
if n == 1 then redis.call('DEL', KEYS[1]) else redis.call('DECR', KEYS[1]) end
return 1
"""


class RedisTopicStore(TopicStore):
    """Plain keys with expiries under ``{prefix}:tg:``; shared by every bot process."""

    def __init__(self, redis: aioredis.Redis, chat_id: int, prefix: str = "kefu", *,
                 ttl: float = TOPIC_TTL, echo_ttl: float = ECHO_TTL) -> None:
        self.redis = redis
        self.base = f"{prefix}:tg:topic:{chat_id}"
        self.agents_key = f"{prefix}:tg:agents"
        self.ttl_ms = max(1, int(ttl * 1000))
        self.echo_ttl_ms = max(1, int(echo_ttl * 1000))
        self._take = self.redis.register_script(_TAKE_ECHO)

    async def _do(self, call: object) -> object:
        try:
            return await call  # type: ignore[misc]
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"Redis unavailable: {exc}") from exc

    async def topic_of(self, ticket_id: str) -> int | None:
        raw = await self._do(self.redis.get(f"{self.base}:ticket:{ticket_id}"))
        try:
            return int(raw) if raw is not None else None  # type: ignore[call-overload]
        except ValueError:
            return None

    async def ticket_of(self, thread_id: int) -> str | None:
        raw = await self._do(self.redis.get(f"{self.base}:thread:{thread_id}"))
        return raw.decode() if isinstance(raw, bytes) else None

    async def link(self, ticket_id: str, thread_id: int) -> None:
        old = await self.topic_of(ticket_id)
        pipe = self.redis.pipeline(transaction=True)
        if old is not None and old != thread_id:
            pipe.delete(f"{self.base}:thread:{old}")
        pipe.set(f"{self.base}:ticket:{ticket_id}", str(thread_id), px=self.ttl_ms)
        pipe.set(f"{self.base}:thread:{thread_id}", ticket_id, px=self.ttl_ms)
        await self._do(pipe.execute())

    async def expect_echo(self, key: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(f"{self.base}:echo:{key}")
        pipe.pexpire(f"{self.base}:echo:{key}", self.echo_ttl_ms)
        await self._do(pipe.execute())

    async def take_echo(self, key: str) -> bool:
        return bool(await self._do(self._take(keys=[f"{self.base}:echo:{key}"])))

    async def add_agent(self, name: str) -> None:
        await self._do(self.redis.sadd(self.agents_key, name))

    async def agents(self) -> set[str]:
        raw = await self._do(self.redis.smembers(self.agents_key))
        return {m.decode() if isinstance(m, bytes) else str(m)
                for m in raw}  # type: ignore[attr-defined]


def make_topic_store(backend: Backend, chat_id: int) -> TopicStore:
    """On the backend's Redis (every process must find the topics), else in memory."""
    if backend.redis is not None:
        return RedisTopicStore(backend.redis, chat_id, prefix=backend.prefix)
    return MemoryTopicStore()
