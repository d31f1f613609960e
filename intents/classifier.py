"""The intent classifier, trained at load time from the script library alone.

A multinomial logistic regression over two TF-IDF blocks (character n-grams; jieba words,
word bigrams and one feature per intent that fires when one of its keywords appears), each
block L2-normalised on its own. scikit-learn fits it (saga: well under a second for a few
thousand examples); inference is a sparse dot product done here with a handful of numpy
calls on one precomputed table, so one line costs tens of microseconds, not milliseconds.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import NamedTuple

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from intents.features import features, init_words
from intents.trie import starts_regex


class Scored(NamedTuple):
    """One intent and the model's confidence in it (a tuple: built five times a line, and
    several times cheaper to build than a frozen dataclass)."""

    intent: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Prediction:
    """The ranking for one line, best first."""

    ranking: tuple[Scored, ...]

    @property
    def intent(self) -> str:
        return self.ranking[0].intent

    @property
    def confidence(self) -> float:
        return self.ranking[0].confidence


@dataclass(frozen=True, slots=True)
class TrainingIntent:
    """What the classifier needs of an intent (the library's Intent satisfies it)."""

    name: str
    examples: Sequence[str]
    keywords: Sequence[str] = ()


class IntentClassifier:
    """Immutable once trained: a running bot swaps whole classifiers, never mutates one."""

    def __init__(self, labels: list[str], vocab: dict[str, int], idf: np.ndarray,
                 weights: np.ndarray, bias: np.ndarray, keywords: KeywordScan):
        self.labels = labels
        self._vocab = vocab
        # Inference needs, per feature, idf × its weights (the logit contributions of a
        # feature seen once) and idf² (its share of the block's squared norm): one row of
        # one table, so a line costs one fancy index and two sums. One extra last row of
        # zeros: unknown features map to it and need no masking. (Plain arrays, lists and
        # dicts only: bot/editor/trained.py stores these attributes as they are.)
        table = np.hstack([weights * idf[:, None], (idf * idf)[:, None]])
        self._table = np.ascontiguousarray(np.vstack([table, np.zeros((1, table.shape[1]))]))
        self._bias: list[float] = [float(b) for b in bias]
        self._keyword_scan, self._keyword_features = keywords

    @classmethod
    def train(cls, intents: Iterable[TrainingIntent], normalize: Callable[[str], str],
              c: float = 8.0, min_df: int = 2, max_iter: int = 30) -> IntentClassifier:
        """Fit on every example (and keyword) of every intent; ``normalize`` canonicalises text."""
        init_words()
        intents = list(intents)
        labels = [i.name for i in intents]
        keywords = keyword_scan({i.name: [normalize(k) for k in i.keywords] for i in intents})
        docs: list[tuple[dict[str, int], dict[str, int]]] = []
        y: list[int] = []
        for label_id, intent in enumerate(intents):
            for text in [*intent.examples, *intent.keywords]:
                docs.append(_blocks(normalize(text), *keywords))
                y.append(label_id)
        df: Counter[str] = Counter()
        for doc in docs:
            for block in doc:
                df.update(block.keys())
        # A feature seen in one example only teaches that example; dropping it halves the
        # vocabulary (and the training time) at no cost in accuracy.
        kept = [f for f, n in df.items() if n >= min_df or f.startswith("<")]
        vocab = {feat: i for i, feat in enumerate(kept)}
        n_docs = len(docs)
        idf = np.log((1 + n_docs) / (1 + np.array([df[f] for f in kept], dtype=float))) + 1.0
        # Every (document, block, feature) in flat lists, extended in C; then numpy.
        names: list[str] = []
        counts: list[int] = []
        segments: list[int] = []  # 2 × document + block: the unit each norm is taken over
        for row, doc in enumerate(docs):
            for block_id, block in enumerate(doc):
                names += block
                counts += block.values()
                segments += repeat(2 * row + block_id, len(block))
        columns = np.fromiter(map(vocab.get, names, repeat(-1)), dtype=np.int64,
                              count=len(names))
        known = columns >= 0
        col_a = columns[known]
        segment = np.asarray(segments, dtype=np.int64)[known]
        row_a = segment // 2
        data = (1.0 + np.log(np.asarray(counts, dtype=float)[known])) * idf[col_a]
        norms = np.sqrt(np.bincount(segment, weights=data * data, minlength=2 * n_docs))
        data /= np.where(norms[segment] > 0, norms[segment], 1.0)
        matrix = csr_matrix((data, (row_a, col_a)), shape=(n_docs, len(vocab)))
        model = LogisticRegression(C=c, solver="saga", max_iter=max_iter, tol=1e-3,
                                   class_weight="balanced", random_state=0)
        with warnings.catch_warnings():
            # Stopping saga early is deliberate: it bounds re-training time for a large
            # library (a full fit of 7,000 examples takes several seconds) and acts as
            # regularisation; fully converged weights score no better on real shopper lines.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(matrix, np.array(y))
        weights = np.ascontiguousarray(model.coef_.T)
        bias = model.intercept_.copy()
        if len(labels) == 2:
            weights = np.hstack([-weights / 2, weights / 2])
            bias = np.array([-bias[0] / 2, bias[0] / 2])
        return cls(labels, vocab, idf, weights, bias, keywords)

    def well_formed(self) -> bool:
        """Arrays that fit the vocabulary (with the zero row): a copy stored by other
        classifier code may not, and must then be retrained rather than used."""
        return (isinstance(self._table, np.ndarray)
                and self._table.shape == (len(self._vocab) + 1, len(self.labels) + 1)
                and len(self._bias) == len(self.labels))

    def _logits(self, text: str) -> tuple[np.ndarray, np.ndarray, float, float]:
        """Per-label sums of the two blocks and each block's scale (1/norm)."""
        chars, words = _blocks(text, self._keyword_scan, self._keyword_features)
        # Lookups run in C (map, fromiter); unknown features map to the zero last row.
        n_chars = len(chars)
        n = n_chars + len(words)
        columns = np.fromiter(map(self._vocab.get, chain(chars, words), repeat(-1)),
                              dtype=np.intp, count=n)
        rows = self._table[columns]  # a copy: safe to scale in place
        if sum(chars.values()) != n_chars or sum(words.values()) != n - n_chars:
            # Some feature occurs more than once: sublinear tf, 1 + log(count).
            tf = 1.0 + np.log(np.fromiter(chain(chars.values(), words.values()),
                                          dtype=np.float64, count=n))
            rows[:, :-1] *= tf[:, None]
            rows[:, -1] *= tf * tf
        char_sum = rows[:n_chars].sum(axis=0)
        word_sum = rows[n_chars:].sum(axis=0)
        char_norm, word_norm = float(char_sum[-1]), float(word_sum[-1])
        char_scale = 1.0 / math.sqrt(char_norm) if char_norm > 0 else 0.0
        word_scale = 1.0 / math.sqrt(word_norm) if word_norm > 0 else 0.0
        return char_sum[:-1], word_sum[:-1], char_scale, word_scale

    def predict(self, text: str, top: int = 5) -> Prediction:
        """Rank the ``top`` likeliest intents for one normalised line (confidences over all)."""
        char_sum, word_sum, char_scale, word_scale = self._logits(text)
        scores = [b + c * char_scale + w * word_scale
                  for b, c, w in zip(self._bias, char_sum.tolist(), word_sum.tolist(),
                                     strict=True)]
        # Eleven-odd labels: a softmax in plain Python beats numpy's per-call overhead.
        peak = max(scores)
        exps = [math.exp(s - peak) for s in scores]
        total = sum(exps)
        order = sorted(range(len(exps)), key=exps.__getitem__, reverse=True)[:top]
        return Prediction(tuple(Scored(self.labels[i], exps[i] / total) for i in order))

    def distribution(self, text: str) -> np.ndarray:
        """Every label's probability for one normalised line, in ``labels`` order (numpy
        all the way: for hundreds of labels, such as the library's topics)."""
        char_sum, word_sum, char_scale, word_scale = self._logits(text)
        scores = np.asarray(self._bias) + char_sum * char_scale + word_sum * word_scale
        exps = np.exp(scores - scores.max())
        return exps / exps.sum()


#: A regex finding every keyword occurrence, and each keyword's features ``<kw:intent>``.
KeywordScan = tuple[re.Pattern[str] | None, dict[str, list[str]]]


def keyword_scan(keywords: Mapping[str, Sequence[str]]) -> KeywordScan:
    """One pass over a line finds every intent one of whose keywords occurs in it.

    The regex yields, at each position, the longest keyword starting there; a keyword's
    features are those of every keyword that is a prefix of it (itself included), so the
    shorter keywords starting at the same place count too. That is exactly what one search
    per intent found, in one C scan instead of one per intent.
    """
    owners: dict[str, set[str]] = {}
    for name, words in keywords.items():
        for word in words:
            if word:
                owners.setdefault(word, set()).add(name)
    hits = {word: sorted({f"<kw:{name}>" for end in range(1, len(word) + 1)
                          for name in owners.get(word[:end], ())})
            for word in owners}
    return starts_regex(owners), hits


def _blocks(text: str, scan: re.Pattern[str] | None, hits: Mapping[str, list[str]]
            ) -> tuple[dict[str, int], dict[str, int]]:
    """The two feature blocks of a line; keyword hits join the word block."""
    chars, words = features(text)
    if scan is not None:
        for match in scan.finditer(text):
            for feature in hits[match.group(1)]:
                words[feature] = 1
    return chars, words
