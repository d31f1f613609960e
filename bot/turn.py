"""What goes into and comes out of the engine for one shopper message."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bot.storage.base import ConversationKey

MessageKind = Literal["text", "photo", "sticker", "voice", "video", "document", "other"]


@dataclass(frozen=True)
class Incoming:
    """One shopper message from any channel."""

    channel: str
    chat_id: str
    text: str = ""
    kind: MessageKind = "text"
    display_name: str = ""
    attachment: str | None = None

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(self.channel, self.chat_id)


@dataclass(frozen=True)
class Reply:
    """One bot message; ``buttons`` are quick replies that work like typing their text."""

    text: str
    buttons: tuple[str, ...] = ()


@dataclass
class Turn:
    """The engine's answer to one message, as channels and ``kefu chat --json`` see it."""

    text: str
    intent: str | None = None
    confidence: float | None = None
    ranking: list[dict[str, Any]] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    status: str = "bot"
    auto_reply: str | None = None
    action: str | None = None
    anger: float | None = None
    #: The library topic (问题) answered, with its match score; or the ones suggested.
    topic: str | None = None
    topic_score: float | None = None
    suggested: list[str] = field(default_factory=list)
    #: The multi-turn dialogue left open for the next line (sizing, refund, logistics).
    dialog: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["replies"] = [r.text for r in self.replies]
        data["buttons"] = [list(r.buttons) for r in self.replies]
        return data
