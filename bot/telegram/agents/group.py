"""The agents' forum group as every part of the desk reaches it.

One :class:`AgentGroup` per desk holds what the parts share: the group's chat id, the
flood-limited sender, the ticket ↔ topic store, the agents' texts and the counters. The
parts read the topic store through it on every use, so replacing the store (tests do)
reaches all of them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from bot.services import Services
from bot.telegram.context_card import Texts
from bot.telegram.sender import TelegramSender
from bot.telegram.topics import TopicStore


@dataclass
class DeskStats:
    """Counters for logs, tests and the benchmark."""

    topics_opened: int = 0
    topics_replaced: int = 0
    posts: int = 0
    posts_failed: int = 0
    relayed: int = 0
    refused: int = 0


@dataclass
class AgentGroup:
    """The agents' supergroup (KEFU_TELEGRAM_AGENT_CHAT) of one bot process."""

    services: Services
    sender: TelegramSender
    chat_id: int
    topics: TopicStore
    texts: Texts
    stats: DeskStats = field(default_factory=DeskStats)

    def side(self, what: str) -> str:
        """A sender lane of its own for calls that must not wait behind the group's posts
        (the group is limited to 20 messages a minute)."""
        return f"{self.chat_id}:{what}"


def echo_key(kind: str, ticket_id: str, agent: str | None, text: str) -> str:
    """Marks what an agent wrote in the group, so its handoff event is not posted back
    into the topic (``TopicStore.expect_echo`` / ``take_echo``)."""
    return f"{kind}:{ticket_id}:{agent or ''}:{_digest(text)}"


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
