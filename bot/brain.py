"""A Brain is one library plus the classifier trained on it, swapped as a whole.

The engine takes the current Brain once at the start of every message, so a reload (a
manager's publish) never answers a message with half of an old and half of a new library.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from intents.augment import variants
from intents.classifier import IntentClassifier, TrainingIntent
from intents.normalize import normalize
from intents.topics import TopicMatcher, TrainingTopic
from intents.understand import Reader
from scripts_zh.models import Library

#: Intents whose examples are not themselves requests: a greeting before them adds nothing.
UNPREFIXED = frozenset({"greeting", "thanks", "goodbye", "fallback"})


def canonical(text: str) -> str:
    """The classifier's view of a text: normalised Simplified."""
    return normalize(text).text


@dataclass(frozen=True)
class Brain:
    """Immutable: library, classifier, topic matcher and the shop's name as templates see it."""

    library: Library
    classifier: IntentClassifier
    shop_name: str
    version: str = ""
    matcher: TopicMatcher | None = None

    def __post_init__(self) -> None:
        # Every way of making a Brain (training, a stored classifier) resolves the name once
        # and has its matcher (built in tens of milliseconds: never stored).
        object.__setattr__(self, "shop_name", self.library.shop_name(self.shop_name))
        matcher = self.matcher or match_topics(self.library)
        object.__setattr__(self, "matcher", matcher)
        object.__setattr__(self, "reader", Reader(self.classifier, matcher))

    reader: Reader = dataclasses.field(init=False, repr=False, compare=False)

    @classmethod
    def build(cls, library: Library, shop_name: str, version: str = "") -> Brain:
        greeting = library.intent("greeting")
        openers = [e for e in greeting.examples if len(e) <= 8] if greeting else []
        intents = [
            TrainingIntent(name=i.name, keywords=i.keywords,
                           examples=variants(i.examples, openers, seed=index)
                           if i.name not in UNPREFIXED
                           else i.examples)
            for index, i in enumerate(library.intents.values())
        ]
        classifier = IntentClassifier.train(intents, canonical)
        return cls(library, classifier, shop_name, version or library.digest)


def match_topics(library: Library, classifier: IntentClassifier | None = None) -> TopicMatcher:
    """The matcher over every topic's standard question and phrasings (``classifier``: the
    topic classifier trained before, e.g. by the process that published the library)."""
    return TopicMatcher.build(
        (TrainingTopic(topic.id, intent.name, [topic.question, *topic.phrasings])
         for intent in library.intents.values() for topic in intent.topics), canonical,
        classifier=classifier)


#: The Brain a message is being answered with (module-level: the holder must stay picklable
#: for rasa-sdk's action server workers).
_PINNED: ContextVar[tuple[BrainHolder, Brain] | None] = ContextVar("pinned_brain", default=None)


class BrainHolder:
    """Holds the current Brain; swapping is a single reference assignment.

    The engine pins the Brain it took at the start of a message for the actions it runs,
    so a publish in the middle of a message never mixes the old routing with new replies.
    """

    def __init__(self, brain: Brain) -> None:
        self._brain = brain

    @property
    def current(self) -> Brain:
        pinned = _PINNED.get()
        return pinned[1] if pinned is not None and pinned[0] is self else self._brain

    @contextmanager
    def pinned(self, brain: Brain) -> Iterator[None]:
        """Within this block (and tasks it starts) ``current`` is ``brain``."""
        token = _PINNED.set((self, brain))
        try:
            yield
        finally:
            _PINNED.reset(token)

    def swap(self, brain: Brain) -> None:
        self._brain = brain
