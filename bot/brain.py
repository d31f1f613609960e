"""A Brain is one library plus the classifier trained on it, swapped as a whole.

The engine takes the current Brain once at the start of every message, so a reload (a
manager's publish) never answers a message with half of an old and half of a new library.
"""

from __future__ import annotations

from dataclasses import dataclass

from intents.augment import variants
from intents.classifier import IntentClassifier, TrainingIntent
from intents.normalize import normalize
from scripts_zh.models import Library

#: Intents whose examples are not themselves requests: a greeting before them adds nothing.
UNPREFIXED = frozenset({"greeting", "thanks", "goodbye", "fallback"})


def canonical(text: str) -> str:
    """The classifier's view of a text: normalised Simplified."""
    return normalize(text).text


@dataclass(frozen=True)
class Brain:
    """Immutable: library, classifier and the shop's name as templates see it."""

    library: Library
    classifier: IntentClassifier
    shop_name: str
    version: str = ""

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


class BrainHolder:
    """Holds the current Brain; swapping is a single reference assignment."""

    def __init__(self, brain: Brain) -> None:
        self._brain = brain

    @property
    def current(self) -> Brain:
        return self._brain

    def swap(self, brain: Brain) -> None:
        self._brain = brain
