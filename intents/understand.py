"""One entry point for the engine: everything kefu reads in one shopper line, computed once.

Normalisation, the intent ranking, the nearest topics (问题), entities, the fit preference,
a bare number, anger and the masked text for transcripts: the engine routes on the result
and the actions, the handoff and the transcript reuse it instead of reading the line again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from intents.classifier import IntentClassifier, Prediction
from intents.entities import Entity, extract, mask_pii
from intents.normalize import normalize
from intents.preferences import Fit, bare_number, detect_fit
from intents.sentiment import score
from intents.topics import TopicMatcher, TopicScore


@dataclass(frozen=True, slots=True)
class Understanding:
    """What one line says, as far as kefu can read it."""

    text: str
    normalized: str
    traditional: bool
    #: The line has Chinese characters (a line of digits or emoji says nothing of the script).
    chinese: bool
    prediction: Prediction
    topics: tuple[TopicScore, ...]
    entities: tuple[Entity, ...]
    fit: Fit | None
    number: float | None
    anger: float
    masked: str

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds of entity found (order_id, height, ...)."""
        return frozenset(e.kind for e in self.entities)


class Reader:
    """A library's classifier and topic matcher, read together."""

    def __init__(self, classifier: IntentClassifier, matcher: TopicMatcher) -> None:
        self.classifier = classifier
        self.matcher = matcher

    def understand(self, text: str, history: Sequence[str] = ()) -> Understanding:
        """Read one shopper line; ``history`` is their earlier lines (anger grows with
        repetition)."""
        norm = normalize(text)
        canonical = norm.text
        return Understanding(
            text=text,
            normalized=canonical,
            traditional=norm.traditional,
            chinese=norm.traditional or any("\u4e00" <= ch <= "\u9fff" for ch in canonical),
            prediction=self.classifier.predict(canonical),
            topics=self.matcher.match(canonical),
            entities=tuple(extract(canonical)),
            fit=detect_fit(canonical),
            number=bare_number(canonical),
            anger=score(text, history).anger,
            masked=mask_pii(text),
        )
