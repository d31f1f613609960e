"""Try a draft before publishing: what the bot would answer, and examples that look wrong.

A sentence runs through a real Engine on the draft's Brain with a throw-away memory store,
so the manager sees exactly the routing, entities and rendered reply of a first message.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

from bot.brain import Brain, BrainHolder, canonical
from bot.engine import SMALL_TALK, UNANSWERED_ACTIONS, Engine
from bot.storage import MemoryConversationStore
from bot.turn import Incoming, Reply, Turn
from config import Settings
from intents.entities import extract
from intents.normalize import normalize
from scripts_zh.renderer import render

#: Routes answered with a system text instead of the intent's replies (the text's key).
SYSTEM_ANSWERS = {"action_fallback": "fallback", "action_clarify": "clarify",
                  "action_suggest": "suggest"}
#: Topics listed under the matched one.
RUNNERS_UP = 5


@dataclass(frozen=True)
class Ranked:
    intent: str
    title: str
    confidence: float


@dataclass(frozen=True)
class TopicHit:
    """A topic the line is near: its id, standard question (标准问), intent and score."""

    topic: str
    question: str
    intent: str
    score: float


@dataclass(frozen=True)
class Variant:
    """One answer the bot could have given: the template, as rendered, and whether it was
    the one said."""

    template: str
    rendered: str
    picked: bool


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
    confidence: float | None = None
    #: The topic answered (None: none matched), the next nearest, and every variant of
    #: what answered (the topic's answers, a system text, or the intent's replies).
    topic: TopicHit | None = None
    runners_up: list[TopicHit] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)
    #: Where the variants come from: topic, system:<key>, intent, or "" (none).
    source: str = ""
    #: A shopper's line like this one is listed on the 没答上的问题 page.
    unanswered: bool = False


def _hit(brain: Brain, topic_id: str, intent: str, score: float) -> TopicHit:
    found = brain.library.topic(topic_id)
    return TopicHit(topic_id, found.question if found else topic_id, intent, score)


def _answers(brain: Brain, turn: Turn) -> tuple[str, list[str]]:
    """What answered the turn, and all its variants."""
    library = brain.library
    topic = library.topic(turn.topic)
    if topic is not None:
        return "topic", list(topic.answers)
    key = SYSTEM_ANSWERS.get(turn.action or "")
    if key is not None:
        return f"system:{key}", list(library.system.get(key, ()))
    intent = library.intent(turn.intent or "")
    if intent is not None:
        return "intent", list(intent.replies)
    return "", []


def _variants(brain: Brain, turn: Turn, templates: list[str],
              traditional: bool) -> list[Variant]:
    """Each variant rendered like the bot would (blocking: templates run in a sandbox);
    the one whose text the bot said is marked."""
    context = {"shop_name": brain.shop_name, "customer_name": "", "slots": turn.slots}
    said = {r.text for r in turn.replies}
    rendered = []
    for template in templates:
        try:
            rendered.append(render(template, context, traditional=traditional))
        except Exception:  # the validator reports it; the trial only shows it
            rendered.append(template)
    marked = False
    variants = []
    for template, text in zip(templates, rendered, strict=True):
        picked = not marked and text in said
        marked = marked or picked
        variants.append(Variant(template, text, picked))
    return variants


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
    near = brain.reader.matcher.match(norm.text, top=RUNNERS_UP + 1)
    topic = None
    if turn.topic is not None:
        owner = brain.library.topics.get(turn.topic)
        topic = _hit(brain, turn.topic, owner[0].name if owner else "",
                     turn.topic_score or 0.0)
    runners_up = [_hit(brain, t.topic, t.intent, t.score)
                  for t in near if t.topic != turn.topic][:RUNNERS_UP]
    source, templates = _answers(brain, turn)
    variants = _variants(brain, turn, templates, norm.traditional)
    return Trial(text=text, intent=turn.intent, action=turn.action, ranking=ranking,
                 entities=entities, replies=list(turn.replies), status=turn.status,
                 normalized=norm.text, traditional=norm.traditional, slots=dict(turn.slots),
                 confidence=turn.confidence, topic=topic, runners_up=runners_up,
                 variants=variants, source=source,
                 unanswered=turn.topic is None and (
                     turn.action in UNANSWERED_ACTIONS or (
                         turn.action == "action_reply" and turn.intent not in SMALL_TALK)))


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
