"""The question matcher: which topic (问题) of the library a line asks, with a score.

The intent classifier decides the route; this picks the answer, two ways:

* a classifier over the topics (the intent classifier's model, trained with each topic's
  standard question and similar phrasings (相似问法) as its examples) gives every topic a
  probability: it generalises to wordings no phrasing has (on phrasings held out of
  training it answers three times as many at the same precision as nearest-neighbour);
* nearest phrasing: TF-IDF over the same feature blocks, cosine per block, and rapidfuzz
  re-reading the few best phrasings as whole strings, so a near-duplicate with a typo or a
  missing particle is recognised as the near-duplicate it is.

A query is a handful of numpy calls (no scipy per line).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np
from rapidfuzz import fuzz

from intents.classifier import IntentClassifier, TrainingIntent
from intents.features import features, init_words

#: Share of the character block in the similarity (the rest is words and word bigrams).
CHAR_SHARE = 0.55
#: Share of rapidfuzz's whole-string ratio in a candidate phrasing's final score.
FUZZ_SHARE = 0.25
#: A line this near a phrasing (0..1) nearly repeats it: that topic leads, whatever else.
NEAR_DUPLICATE = 0.8
#: Phrasings re-read with rapidfuzz per line.
RERANK = 12
#: The classifier's shape features (length, question): not about what a line asks.
SHAPES = ("<len:1>", "<len:s>", "<len:m>", "<len:l>", "<q>", "<empty>")


@dataclass(frozen=True, slots=True)
class TrainingTopic:
    """What the matcher needs of a topic (the library's Topic, with its intent's name)."""

    id: str
    intent: str
    texts: Sequence[str]


@dataclass(frozen=True, slots=True)
class TopicScore:
    """One topic for one line: ``score`` the topic classifier's probability, ``share`` that
    probability among its intent's topics, ``near`` the similarity to its nearest phrasing
    (1.0: the line is one of them)."""

    topic: str
    intent: str
    score: float
    share: float = 0.0
    near: float = 0.0


def _weighted(block: dict[str, int]) -> dict[str, float]:
    return {f: 1.0 + math.log(n) if n > 1 else 1.0
            for f, n in block.items() if f not in SHAPES}


class TopicMatcher:
    """Immutable once built; a library publish builds a new one with the new classifier."""

    def __init__(self, topics: list[tuple[str, str]], owners: np.ndarray, starts: np.ndarray,
                 texts: list[str], vocab: dict[str, int], idf: np.ndarray,
                 indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
                 classifier: IntentClassifier | None = None) -> None:
        self.topics = topics  # (topic id, intent) by topic index
        self.classifier = classifier  # labels: the topic ids, in ``topics`` order
        names = sorted({intent for _, intent in topics})
        self._intent_of = np.asarray([names.index(intent) for _, intent in topics],
                                     dtype=np.intp)
        self._owners = owners  # phrasing → topic index (phrasings grouped by topic)
        self._starts = starts  # first phrasing of each topic
        self._texts = texts  # the normalised phrasings, for rapidfuzz
        self._vocab = vocab
        self._idf = idf
        #: idf by feature, and last a typical (mean) idf for features never seen.
        self._idf_ext = np.append(idf, float(np.mean(idf)) if len(idf) else 1.0)
        self._indptr = indptr  # feature → its postings (phrasing, weight)
        self._indices = indices
        self._data = data

    @classmethod
    def build(cls, topics: Iterable[TrainingTopic], normalize: Callable[[str], str],
              classifier: IntentClassifier | None = None) -> TopicMatcher:
        """Index the phrasings; train the topic classifier unless one trained on these very
        topics is given (a stored one: training takes seconds, indexing milliseconds)."""
        init_words()
        listed: list[tuple[str, str]] = []
        examples: list[TrainingIntent] = []
        owners: list[int] = []
        texts: list[str] = []
        blocks: list[tuple[dict[str, float], dict[str, float]]] = []
        for topic in topics:
            seen: set[str] = set()
            for raw in topic.texts:
                text = normalize(raw)
                if not text or text in seen:
                    continue
                seen.add(text)
                char_counts, word_counts = features(text)
                owners.append(len(listed))
                texts.append(text)
                blocks.append((_weighted(char_counts), _weighted(word_counts)))
            if seen:
                listed.append((topic.id, topic.intent))
                examples.append(TrainingIntent(topic.id, list(topic.texts)))
        df: Counter[str] = Counter()
        for char_block, word_block in blocks:
            df.update(char_block.keys())
            df.update(word_block.keys())
        vocab = {feat: i for i, feat in enumerate(df)}
        n = max(len(blocks), 1)
        idf = np.log((1 + n) / (1 + np.array([df[f] for f in vocab], dtype=float))) + 1.0
        postings: list[list[tuple[int, float]]] = [[] for _ in vocab]
        for row, (char_block, word_block) in enumerate(blocks):
            for block, share in ((char_block, CHAR_SHARE), (word_block, 1.0 - CHAR_SHARE)):
                weights = {f: w * idf[vocab[f]] for f, w in block.items()}
                norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
                for f, w in weights.items():
                    postings[vocab[f]].append((row, share * w / norm))
        indptr = np.zeros(len(vocab) + 1, dtype=np.intp)
        indptr[1:] = np.cumsum([len(p) for p in postings])
        flat = list(chain.from_iterable(postings))
        indices = np.fromiter((r for r, _ in flat), dtype=np.intp, count=len(flat))
        data = np.fromiter((w for _, w in flat), dtype=np.float64, count=len(flat))
        owner_a = np.asarray(owners, dtype=np.intp)
        starts = np.flatnonzero(np.r_[True, owner_a[1:] != owner_a[:-1]]) if owners else owner_a
        if classifier is not None and classifier.labels != [t.name for t in examples]:
            classifier = None  # trained on other topics: train again
        if classifier is None and len(examples) >= 2:
            # A handful of examples a topic: every feature counts (min_df=1).
            classifier = IntentClassifier.train(examples, normalize, min_df=1)
        return cls(listed, owner_a, starts.astype(np.intp), texts, vocab, idf, indptr,
                   indices, data, classifier)

    def __len__(self) -> int:
        return len(self.topics)

    def match(self, text: str, top: int = 3,
              within: Callable[[str], bool] | None = None) -> tuple[TopicScore, ...]:
        """The ``top`` likeliest topics for one normalised line, best first (``within``
        keeps only topics whose intent it accepts; their probabilities then add up to 1).

        A topic one of whose phrasings the line nearly repeats leads the list."""
        if not self.topics or not text:
            return ()
        near = self._nearest(text)
        if self.classifier is not None:
            probs = self.classifier.distribution(text)
        else:
            probs = np.zeros(len(self.topics))
            for topic, value in near.items():
                probs[topic] = value
        if within is not None:
            keep = np.fromiter((within(intent) for _, intent in self.topics), dtype=bool,
                               count=len(self.topics))
            probs = np.where(keep, probs, 0.0)
            total = float(probs.sum())
            if total <= 0.0:
                return ()
            probs = probs / total
        masses = np.bincount(self._intent_of, weights=probs)
        k = min(top, len(probs))
        order = sorted(np.argpartition(-probs, k - 1)[:k].tolist(),
                       key=lambda t: float(probs[t]), reverse=True)
        duplicate = max(near, key=near.__getitem__, default=None)
        if duplicate is not None and near[duplicate] >= NEAR_DUPLICATE and (
                within is None or within(self.topics[duplicate][1])):
            order = [duplicate, *[t for t in order if t != duplicate]][:k]
        found = []
        for topic in order:
            probability = float(probs[topic])
            if probability <= 0.0 and near.get(topic, 0.0) <= 0.0:
                continue
            topic_id, intent = self.topics[topic]
            mass = float(masses[self._intent_of[topic]])
            found.append(TopicScore(topic_id, intent, round(probability, 4),
                                    round(probability / mass, 4) if mass > 0 else 0.0,
                                    round(min(near.get(topic, 0.0), 1.0), 4)))
        return tuple(found)

    def _nearest(self, text: str) -> dict[int, float]:
        """Topic index → similarity of the line to the topic's nearest phrasing, for the
        topics of the few most similar phrasings."""
        columns: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        for block in features(text):
            for shape in SHAPES:
                block.pop(shape, None)
            if not block:
                continue
            # Unknown features map to the last idf entry (a typical idf): they count in the
            # line's norm, so a line mostly about something else is near no phrasing.
            ids = np.fromiter(map(self._vocab.get, block, repeat(-1)), dtype=np.intp,
                              count=len(block))
            scaled = self._idf_ext[ids]
            if len(block) != sum(block.values()):  # a feature seen twice: 1 + log(count)
                scaled = scaled * (1.0 + np.log(np.fromiter(block.values(), dtype=np.float64,
                                                            count=len(block))))
            norm = math.sqrt(float(scaled @ scaled))
            known = ids >= 0
            if norm == 0.0 or not known.any():
                continue
            columns.append(ids[known])
            weights.append(scaled[known] / norm)  # the postings carry the block's share
        if not columns:
            return {}
        feat = np.concatenate(columns)
        starts = self._indptr[feat]
        lengths = self._indptr[feat + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return {}
        offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        positions = np.arange(total) + offsets
        values = self._data[positions] * np.repeat(np.concatenate(weights), lengths)
        scores = np.bincount(self._indices[positions], weights=values,
                             minlength=len(self._texts))
        k = min(RERANK, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        blended: dict[int, float] = {}
        texts, owners = self._texts, self._owners
        for row, cosine in zip(best.tolist(), scores[best].tolist(), strict=True):
            if cosine <= 0.0:
                continue
            value = (1.0 - FUZZ_SHARE) * cosine + FUZZ_SHARE * fuzz.ratio(text, texts[row]) / 100.0
            topic = int(owners[row])
            if value > blended.get(topic, 0.0):
                blended[topic] = value
        return blended
