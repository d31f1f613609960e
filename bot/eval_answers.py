"""``kefu eval --answers``: how each labelled line is answered when it opens a chat.

The classifier report says which intent a line gets; a shopper sees a reply. Each line is
sent as the first message of its own conversation through a real Engine (memory stores, a
temporary data folder, a fixed shop-local time so that the hours notices do not depend on
when the measurement runs) and counted by the kind of reply it got.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.brain import Brain
from bot.engine import SMALL_TALK
from bot.services import Services
from bot.storage import MemoryConversationStore
from bot.terminal import shop_clock
from bot.turn import Incoming, Turn
from config import Settings
from intents.evaluate import LABELS, Example

#: Reply kinds, in the order the table shows them.
CATEGORIES = ("topic", "suggest", "intent_reply", "clarify", "fallback", "small_talk",
              "handoff", "other")
#: Actions that answer with their intent's general reply when no topic was found.
INTENT_ACTIONS = frozenset({"action_reply", "action_refund", "action_logistics",
                            "action_sizing", "action_complaint"})
#: A weekday morning inside the default business hours (a Wednesday, 10:00 shop-local).
DEFAULT_AT = "2026-06-03 10:00"
#: The one agent ``--agents-online`` puts online, with a seat for every handoff.
EVAL_AGENT = "eval"
EVAL_AGENT_SEATS = 1_000_000


@dataclass(frozen=True)
class AnsweredLine:
    """One line and the bot's whole answer to it (a row of ``--replies``)."""

    id: str
    label: str
    text: str
    intent: str | None
    topic: str | None
    action: str | None
    status: str
    reply: str
    category: str


@dataclass(frozen=True)
class Answers:
    lines: list[AnsweredLine]
    at: str
    agents_online: bool

    def counts(self) -> dict[str, Counter[str]]:
        """Category counts per gold label (labels without lines left out)."""
        table: dict[str, Counter[str]] = {}
        for line in self.lines:
            table.setdefault(line.label, Counter())[line.category] += 1
        return {label: table[label] for label in LABELS if label in table}

    def as_json(self) -> dict[str, Any]:
        per_label = {label: _row(counts) for label, counts in self.counts().items()}
        total: Counter[str] = Counter(line.category for line in self.lines)
        n = len(self.lines)
        return {"n": n, "at": self.at, "agents_online": self.agents_online,
                "categories": list(CATEGORIES), "per_label": per_label, "total": _row(total),
                "shares": {c: round(total[c] / n, 4) if n else 0.0 for c in CATEGORIES}}


def _row(counts: Counter[str]) -> dict[str, int]:
    return {**{c: counts[c] for c in CATEGORIES}, "n": sum(counts.values())}


def category(turn: Turn) -> str:
    """What kind of answer a turn is; a handoff wins, whatever action led to it."""
    if turn.status in ("waiting", "agent"):
        return "handoff"
    if turn.action == "action_suggest":
        return "suggest"
    if turn.action == "action_clarify":
        return "clarify"
    if turn.action == "action_fallback":
        return "fallback"
    if turn.intent in SMALL_TALK:
        return "small_talk"
    if turn.topic:
        return "topic"
    if turn.action in INTENT_ACTIONS:
        return "intent_reply"
    return "other"


async def answer(settings: Settings, brain: Brain, examples: Sequence[Example], *,
                 at: str = DEFAULT_AT, agents_online: bool = False) -> Answers:
    """Send every example as the first message of a fresh conversation."""
    with tempfile.TemporaryDirectory(prefix="kefu-eval-") as data_dir:
        settings = settings.model_copy(update={"data_dir": Path(data_dir), "redis_url": None})
        services = Services.build(settings, store=MemoryConversationStore(),
                                  clock=shop_clock(settings, at), brain=brain)
        lines = []
        try:
            for number, ex in enumerate(examples):
                if agents_online:
                    # A heartbeat per line keeps the agent online however long the run takes.
                    await services.handoff.set_presence(EVAL_AGENT, "online",
                                                        capacity=EVAL_AGENT_SEATS)
                turn = await services.engine.handle(
                    Incoming(channel="eval", chat_id=f"{number}:{ex.id}", text=ex.text))
                lines.append(AnsweredLine(
                    id=ex.id, label=ex.label, text=ex.text, intent=turn.intent,
                    topic=turn.topic, action=turn.action, status=turn.status,
                    reply=reply_text(turn), category=category(turn)))
        finally:
            await services.close()
    return Answers(lines, at, agents_online)


def reply_text(turn: Turn) -> str:
    """All the shopper sees: the replies joined with " / ", each quick reply in brackets
    (猜你想问 says its questions only as buttons)."""
    return " / ".join(r.text + "".join(f" [{b}]" for b in r.buttons) for r in turn.replies)


def write_replies(answers: Answers, path: str | Path) -> None:
    """One JSON object per line, for grading the replies by hand."""
    with open(path, "w", encoding="utf-8") as handle:
        for line in answers.lines:
            row = asdict(line)
            row.pop("category")
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def format_answers(answers: Answers) -> str:
    """Counts per gold label, totals and shares, as a plain-text table."""
    agents = ("one agent online (takes every handoff)" if answers.agents_online
              else "no agent online (handoffs get the leave-a-message text)")
    heads = ("topic", "suggest", "intent", "clarify", "fallbk", "small", "handof", "other")
    lines = [f"answers: each line opens its own chat at {answers.at} shop-local; {agents}",
             "  topic=library topic answered, suggest=猜你想问, intent=intent's general reply,",
             "  small=greeting/thanks/goodbye, handof=handed to a person",
             "",
             f"{'label':<10} " + " ".join(f"{h:>7}" for h in heads) + f" {'n':>5}"]
    data = answers.as_json()
    for label, row in data["per_label"].items():
        lines.append(f"{label:<10} " + " ".join(f"{row[c]:>7}" for c in CATEGORIES)
                     + f" {row['n']:>5}")
    total = data["total"]
    lines.append(f"{'total':<10} " + " ".join(f"{total[c]:>7}" for c in CATEGORIES)
                 + f" {total['n']:>5}")
    lines.append(f"{'share':<10} " + " ".join(f"{data['shares'][c]:>7.1%}" for c in CATEGORIES))
    return "\n".join(lines)
