"""The library's data model: what one intent file and the system texts contain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from scripts_zh.size_charts import SizeChart

#: Eight labels of the evaluation data; any other intent counts as ``other``.
LABELS = ("greeting", "presale", "sizing", "refund", "complaint", "logistics", "human", "other")

#: Prompts an action needs from its intent's file; the validator checks them.
REQUIRED_PROMPTS: dict[str, tuple[str, ...]] = {
    "action_refund": ("ask_order", "with_order"),
    "action_logistics": ("ask_order", "with_order"),
    "action_sizing": (
        "ask_both",
        "ask_height",
        "ask_weight",
        "ask_fit",
        "advice",
        "borderline",
        "out_of_chart",
    ),
}

#: System texts every library must define.
REQUIRED_SYSTEM = (
    "welcome",
    "clarify",
    "suggest",
    "fallback",
    "handoff",
    "handoff_queued",
    "handoff_no_agent",
    "leave_message_ack",
    "agent_joined",
    "back_to_bot",
    "busy_off_hours",
    "busy_break",
    "busy_agents",
    "goodbye",
    "rating_ask",
    "rating_thanks",
    "rating_invalid",
    "input_empty",
    "input_too_long",
    "input_unsupported",
    "error",
)

Text = str
Variants = list[Text]


def _non_blank_texts(items: list[str]) -> list[str]:
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValueError("entries must be non-empty text")
        if len(item) > 500:
            raise ValueError("an entry is longer than 500 characters")
    return [item.strip() for item in items]


class Topic(BaseModel):
    """One question of the library (问题): its standard question, how shoppers phrase it
    (相似问法) and its own answer; the intent's generic replies serve when no topic fits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,59}$")
    question: Text = Field(min_length=2, max_length=60)
    phrasings: list[Text] = Field(min_length=1, max_length=200)
    answers: list[Text] = Field(min_length=1, max_length=20)
    #: Follow-up questions as buttons; none: the intent's quick replies.
    quick_replies: list[Text] = Field(default_factory=list, max_length=6)
    #: A promotion's answer is said only inside these dates (有效期, shop-local).
    valid_from: date | None = None
    valid_until: date | None = None
    #: A person must also see this one: the bot answers and tells the agents.
    notify_agent: bool = False
    #: A shop-data lookup that backs the answer (filled by the shop-data work).
    lookup: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_.]{1,59}$")

    @field_validator("phrasings", "answers", "quick_replies")
    @classmethod
    def _non_blank(cls, items: list[str]) -> list[str]:
        return _non_blank_texts(items)

    def valid_on(self, day: date) -> bool:
        """Whether the answer may be said on ``day`` (a promotion outside its dates is not)."""
        return ((self.valid_from is None or self.valid_from <= day)
                and (self.valid_until is None or day <= self.valid_until))


class Intent(BaseModel):
    """One intent: how shoppers say it (examples, keywords) and how the bot answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    title: str = Field(min_length=1, max_length=20)
    description: str = Field(default="", max_length=500)
    action: str = Field(default="action_reply", pattern=r"^action_[a-z0-9_]+$")
    skill: str | None = Field(default=None, pattern=r"^[a-z_]+$")
    examples: list[Text] = Field(min_length=1, max_length=2000)
    keywords: list[Text] = Field(default_factory=list, max_length=200)
    replies: list[Text] = Field(min_length=2, max_length=50)
    quick_replies: list[Text] = Field(default_factory=list, max_length=6)
    prompts: dict[str, Variants] = Field(default_factory=dict)

    topics: list[Topic] = Field(default_factory=list, max_length=500)

    @field_validator("examples", "keywords", "replies", "quick_replies")
    @classmethod
    def _non_blank(cls, items: list[str]) -> list[str]:
        return _non_blank_texts(items)

    @field_validator("prompts")
    @classmethod
    def _prompt_variants(cls, prompts: dict[str, Variants]) -> dict[str, Variants]:
        for key, variants in prompts.items():
            if not variants or any(not str(v).strip() for v in variants):
                raise ValueError(f"prompt {key!r} needs at least one non-empty variant")
        return prompts

    @property
    def label(self) -> str:
        """The evaluation label this intent counts as."""
        return self.name if self.name in LABELS else "other"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or suspicious) in the library, located for a human to fix."""

    file: str
    line: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Library:
    """A loaded, validated library; immutable so a running bot can swap it atomically."""

    intents: dict[str, Intent]
    system: dict[str, Variants]
    size_charts: dict[str, SizeChart] = field(default_factory=dict)
    source: str = ""
    digest: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def intent(self, name: str) -> Intent | None:
        return self.intents.get(name)

    @cached_property
    def topics(self) -> dict[str, tuple[Intent, Topic]]:
        """Every topic by id, with the intent that holds it."""
        return {topic.id: (intent, topic)
                for intent in self.intents.values() for topic in intent.topics}

    def topic(self, topic_id: str | None) -> Topic | None:
        found = self.topics.get(topic_id) if topic_id else None
        return found[1] if found else None

    def shop_name(self, configured: str = "") -> str:
        """The name replies use: the operator's setting if given, else the library's own
        ``shop_name`` text (managers edit it like any other text)."""
        return configured or next(iter(self.system.get("shop_name", ())), "")

    def title(self, name: str) -> str:
        intent = self.intents.get(name)
        return intent.title if intent else name
