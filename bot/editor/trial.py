"""Try a draft before publishing: what the bot would answer, and examples that look wrong.

A sentence runs through a real Engine on the draft's Brain with a throw-away memory store,
so the manager sees exactly the routing, entities and rendered reply of a first message.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

from bot.brain import Brain, BrainHolder, canonical
from bot.engine import Engine
from bot.storage import MemoryConversationStore
from bot.turn import Incoming, Reply
from config import Settings
from intents.entities import extract
from intents.normalize import normalize


@dataclass(frozen=True)
class Ranked:
    intent: str
    title: str
    confidence: float


@dataclass
class Trial:
    """One tried sentence."""

    text: str
    intent: str | None
    action: str | None
    ranking: list[Ranked]
    entities: list[tuple[str, str]]
    replies: list[Reply]
    status: str
    normalized: str = ""
    traditional: bool = False
    slots: dict[str, object] = field(default_factory=dict)


async def try_sentence(settings: Settings, brain: Brain, text: str) -> Trial:
    """Answer ``text`` as a new shopper's first message, with the draft's Brain, in a worker
    thread: a draft's template may be slow (bounded, but still), the editor and every
    conversation go on meanwhile."""
    return await asyncio.to_thread(_try_sentence, settings, brain, text)


def _try_sentence(settings: Settings, brain: Brain, text: str) -> Trial:
    engine = Engine(settings, BrainHolder(brain), MemoryConversationStore())
    turn = asyncio.run(engine.handle(Incoming(channel="editor", chat_id=secrets.token_hex(8),
                                              text=text, display_name="")))
    norm = normalize(text)
    ranking = [Ranked(s.intent, brain.library.title(s.intent), s.confidence)
               for s in brain.classifier.predict(norm.text).ranking[:5]]
    entities = [(str(e.kind), str(e.value)) for e in extract(norm.text)]
    return Trial(text=text, intent=turn.intent, action=turn.action, ranking=ranking,
                 entities=entities, replies=list(turn.replies), status=turn.status,
                 normalized=norm.text, traditional=norm.traditional, slots=dict(turn.slots))


@dataclass(frozen=True)
class Misplaced:
    """An example of ``intent`` that the draft classifier files under ``predicted``."""

    intent: str
    example: str
    index: int  # 1-based position in the intent's examples
    predicted: str
    confidence: float


@dataclass(frozen=True)
class Duplicate:
    """Two examples that read the same to the classifier (Traditional/Simplified, spacing)."""

    example: str
    intent: str
    other_example: str
    other_intent: str


def _misplaced(brain: Brain) -> list[Misplaced]:
    found = []
    for name, intent in sorted(brain.library.intents.items()):
        for i, example in enumerate(intent.examples, start=1):
            top = brain.classifier.predict(canonical(example)).ranking[0]
            if top.intent != name:
                found.append(Misplaced(name, example, i, top.intent, top.confidence))
    return found


def _duplicates(brain: Brain) -> list[Duplicate]:
    seen: dict[str, tuple[str, str]] = {}
    found = []
    for name, intent in sorted(brain.library.intents.items()):
        for example in intent.examples:
            key = "".join(ch for ch in canonical(example).lower() if ch.isalnum())
            if not key:
                continue
            if key in seen and seen[key] != (name, example):
                other_intent, other = seen[key]
                if other != example or other_intent != name:
                    found.append(Duplicate(example, name, other, other_intent))
            else:
                seen[key] = (name, example)
    return found


_checked: dict[str, tuple[list[Misplaced], list[Duplicate]]] = {}


async def example_warnings(brain: Brain) -> tuple[list[Misplaced], list[Duplicate]]:
    """Examples the draft classifier puts elsewhere, and examples that duplicate others."""
    digest = brain.library.digest
    if digest not in _checked:
        result = await asyncio.to_thread(lambda: (_misplaced(brain), _duplicates(brain)))
        if len(_checked) > 8:
            _checked.clear()
        _checked[digest] = result
    return _checked[digest]
