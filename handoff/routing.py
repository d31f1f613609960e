"""Who gets a ticket and how long a shopper waits: pure functions, no store, no clock.

Kept apart from the service so the rules are easy to read and to test on plain lists.
"""

from __future__ import annotations

import math

from handoff.models import Agent, Presence

#: Minutes assumed per ticket until the store has learned a real average.
DEFAULT_HANDLE_SECONDS = 180.0


def effective_presence(agent: Agent, now: float, ttl: float) -> Presence:
    """The agent's presence, or "offline" when their last heartbeat is older than ``ttl``.

    A console that crashed or lost its network stops sending heartbeats; its agent must
    stop receiving tickets without anyone clicking "offline".
    """
    if agent.presence != "offline" and now - agent.last_seen > ttl:
        return "offline"
    return agent.presence


def seen_now(agent: Agent, now: float, ttl: float) -> Agent:
    """A copy of the agent with :func:`effective_presence` applied."""
    presence = effective_presence(agent, now, ttl)
    return agent if presence == agent.presence else agent.model_copy(update={"presence": presence})


def online_with(agents: list[Agent], skill: str | None, now: float, ttl: float) -> list[Agent]:
    """Agents online now who have ``skill`` (any skill when None)."""
    return [a for a in agents if effective_presence(a, now, ttl) == "online"
            and (skill is None or skill in a.skills)]


def candidates(agents: list[Agent], skill: str, now: float, ttl: float) -> list[Agent]:
    """Online agents with the skill and a free seat, best first.

    Best = fewest tickets now; among equals the one whose last new ticket is oldest (never
    assigned counts as idle forever), so work spreads evenly; the name settles the rest.
    """
    free = [a for a in online_with(agents, skill, now, ttl) if a.active < a.capacity]
    return sorted(free, key=lambda a: (a.active, a.last_assigned_at or -math.inf, a.name))


def estimate_wait(position: int, handle_seconds: float | None, online: int) -> float:
    """Minutes until a queued shopper is likely served: position × handle time ÷ agents.

    Deliberately simple: every online agent with the skill is assumed to free one seat per
    average handle time. With nobody online it is still computed for one agent, so the
    shopper gets a number instead of "infinity".
    """
    if position <= 0:
        return 0.0
    minutes = (handle_seconds or DEFAULT_HANDLE_SECONDS) / 60.0
    return round(position * minutes / max(1, online), 1)
