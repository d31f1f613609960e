"""How the bot reaches a shopper outside a reply to their own message.

Agent replies, "an agent joined", the rating question after close: these start on the
agent's side, so the handoff bridge hands them to the shopper's channel through an Outbox.
Each channel (web chat, Telegram) registers one under its channel name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from bot.turn import Reply

#: Who a delivered reply comes from: the bot itself or an agent (whose name a channel may
#: show with it).
SentBy = Literal["bot", "agent"]


class Outbox(Protocol):
    """Delivers messages to one channel's shoppers; must never raise for a gone shopper."""

    async def deliver(self, chat_id: str, replies: Sequence[Reply], *, sender: SentBy = "bot",
                      agent_name: str | None = None, status: str | None = None) -> bool:
        """Send ``replies`` in order; ``status`` tells UIs the conversation's new status.
        Returns False when this process cannot reach that shopper (another process may)."""
        ...


class Channels:
    """Outboxes by channel name.

    ``everywhere`` outboxes reach only shoppers connected to this process (web sockets), so
    every process delivers to them; the others (Telegram) can reach any shopper from any
    process, so exactly one process delivers each message.
    """

    def __init__(self) -> None:
        self._outboxes: dict[str, tuple[Outbox, bool]] = {}

    def register(self, channel: str, outbox: Outbox, *, everywhere: bool = False) -> None:
        self._outboxes[channel] = (outbox, everywhere)

    def get(self, channel: str) -> Outbox | None:
        found = self._outboxes.get(channel)
        return found[0] if found else None

    def everywhere(self, channel: str) -> bool:
        found = self._outboxes.get(channel)
        return bool(found and found[1])
