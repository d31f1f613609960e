"""The routing rules on plain lists: presence TTL, who gets a ticket, the wait estimate."""

from __future__ import annotations

from handoff.models import Agent
from handoff.routing import candidates, effective_presence, estimate_wait, online_with, seen_now

NOW = 1_000.0


def agent(name: str, *, presence: str = "online", active: int = 0, capacity: int = 5,
          last_assigned_at: float | None = None, last_seen: float = NOW,
          skills: tuple[str, ...] = ("presale", "after_sales")) -> Agent:
    return Agent.model_validate({"name": name, "presence": presence, "active": active,
                                 "capacity": capacity, "last_assigned_at": last_assigned_at,
                                 "last_seen": last_seen, "skills": skills})


def test_an_old_heartbeat_means_offline() -> None:
    assert effective_presence(agent("a", last_seen=NOW - 120), NOW, 120) == "online"
    assert effective_presence(agent("a", last_seen=NOW - 121), NOW, 120) == "offline"
    assert effective_presence(agent("a", presence="away", last_seen=0), NOW, 120) == "offline"
    stale = agent("a", last_seen=0)
    assert seen_now(stale, NOW, 120).presence == "offline" and stale.presence == "online"


def test_online_with_skill() -> None:
    agents = [agent("a", skills=("presale",)), agent("b", presence="away"),
              agent("c", last_seen=0), agent("d", skills=("after_sales",))]
    assert [a.name for a in online_with(agents, None, NOW, 120)] == ["a", "d"]
    assert [a.name for a in online_with(agents, "presale", NOW, 120)] == ["a"]


def test_candidates_least_loaded_then_longest_idle() -> None:
    agents = [agent("full", active=5), agent("busy", active=2, last_assigned_at=1.0),
              agent("recent", active=1, last_assigned_at=900.0),
              agent("idle", active=1, last_assigned_at=100.0),
              agent("never", active=1), agent("pre", active=0, skills=("presale",))]
    assert [a.name for a in candidates(agents, "after_sales", NOW, 120)] == [
        "never", "idle", "recent", "busy"]


def test_estimate_wait() -> None:
    assert estimate_wait(0, None, 3) == 0.0
    assert estimate_wait(2, None, 0) == 6.0  # default 3 minutes, one agent assumed
    assert estimate_wait(3, 120.0, 2) == 3.0
    assert estimate_wait(1, 50.0, 1) == 0.8
