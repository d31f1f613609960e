"""Agents' presence chosen in the group: /online [capacity], /away, /offline.

Presence and capacity live in HandoffService, so the web console and Telegram share them.
The handoff service forgets a presence nobody renews (after 120 s); the console renews its
agents' while their page is open, and this renews the presence of agents who chose theirs
in Telegram (one process per period does it) until they write /offline.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot.storage import StoreUnavailable
from bot.telegram.agents.group import AgentGroup
from bot.telegram.agents.membership import Acting
from handoff import HandoffError, HandoffUnavailable

log = logging.getLogger(__name__)

#: Telegram agents' presence is renewed this often (the service forgets it after 120 s).
HEARTBEAT = 45.0


class Presence:
    """Sets an agent's presence from a command and keeps it renewed."""

    def __init__(self, group: AgentGroup, heartbeat: float = HEARTBEAT) -> None:
        self.group = group
        self.heartbeat = heartbeat

    async def set(self, agent: Acting, presence: str, args: str) -> str:
        """/online [capacity], /away, /offline: the same presence the console sets."""
        capacity: int | None = None
        if presence == "online" and args:
            try:
                capacity = int(args.split()[0])
            except ValueError:
                capacity = None
            if capacity is not None and not 0 <= capacity <= 100:
                capacity = None
        texts = self.group.texts
        try:
            saved = await self.group.services.handoff.set_presence(agent.name, presence,
                                                                   capacity=capacity)
            await self.group.topics.add_agent(agent.name)
        except (HandoffError, HandoffUnavailable, StoreUnavailable) as exc:
            log.warning("telegram agents: presence of %s not set: %s", agent.name, exc)
            return texts.get("tg_hint_error")
        return texts.get("tg_presence", agent_name=agent.display, presence=saved.presence,
                         capacity=saved.capacity, count=saved.active)

    async def renew(self) -> None:
        """Keep agents who chose their presence in Telegram as they chose it (one process
        per period does it); /offline ends it."""
        services = self.group.services
        period = int(time.time() // self.heartbeat)
        if not await services.store.once(f"tg-heartbeat:{self.group.chat_id}:{period}",
                                         self.heartbeat):
            return
        for name in await self.group.topics.agents():
            await services.handoff.renew_presence(name)

    async def keep_renewing(self) -> None:
        """The heartbeat: renew every ``heartbeat`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await self.renew()
            except (StoreUnavailable, HandoffUnavailable, HandoffError) as exc:
                log.warning("telegram agents: presence heartbeat failed: %s", exc)
            except Exception:
                log.exception("telegram agents: presence heartbeat failed")
