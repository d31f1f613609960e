"""Measure the classifier on labelled lines: accuracy, macro-F1, per-intent P/R, confusion.

Labels are the eight of the evaluation data; a predicted intent outside them counts as
``other``. Confident-precision (precision among predictions at or above the threshold) says
how often the bot is right when it answers without asking back. Accuracy and macro-F1 come
with a 95% bootstrap interval: on a few hundred lines one line moves accuracy by a fifth of
a point, and the interval says how far a figure can be trusted.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

LABELS = ("greeting", "presale", "sizing", "refund", "complaint", "logistics", "human", "other")


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    text: str
    label: str


@dataclass
class Report:
    n: int
    accuracy: float
    macro_f1: float
    per_intent: dict[str, dict[str, float]]
    confusion: dict[str, dict[str, int]]
    confident_precision: float
    confident_coverage: float
    threshold: float
    errors: list[dict[str, Any]] = field(default_factory=list)
    #: 95% bootstrap intervals (low, high) of accuracy and macro-F1.
    accuracy_ci: tuple[float, float] = (0.0, 0.0)
    macro_f1_ci: tuple[float, float] = (0.0, 0.0)
    #: and of the precision among confident lines (resampling those lines).
    confident_precision_ci: tuple[float, float] = (0.0, 0.0)

    def as_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "accuracy_ci95": [round(x, 4) for x in self.accuracy_ci],
            "macro_f1": round(self.macro_f1, 4),
            "macro_f1_ci95": [round(x, 4) for x in self.macro_f1_ci],
            "per_intent": self.per_intent,
            "confusion": self.confusion,
            "confident_precision": round(self.confident_precision, 4),
            "confident_precision_ci95": [round(x, 4) for x in self.confident_precision_ci],
            "confident_coverage": round(self.confident_coverage, 4),
            "threshold": self.threshold,
        }


def read_tsv(path: str | Path) -> list[Example]:
    """Lines ``ID<TAB>TEXT<TAB>LABEL``; raises ValueError naming the bad line."""
    examples = []
    with open(path, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t",
                                                quoting=csv.QUOTE_NONE), 1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 3:
                raise ValueError(f"{path}:{number}: expected ID<TAB>TEXT<TAB>LABEL")
            ident, text, label = (c.strip() for c in row)
            if label not in LABELS:
                raise ValueError(f"{path}:{number}: unknown label {label!r}")
            examples.append(Example(ident, text, label))
    return examples


def to_label(intent: str) -> str:
    return intent if intent in LABELS else "other"


def evaluate(examples: Sequence[Example], predict: Callable[[str], tuple[str, float]],
             threshold: float) -> Report:
    """Run ``predict`` (text → intent, confidence) on every example and score it."""
    pairs: list[tuple[Example, str, float]] = []
    for ex in examples:
        intent, conf = predict(ex.text)
        pairs.append((ex, to_label(intent), conf))
    confusion = {g: dict.fromkeys(LABELS, 0) for g in LABELS}
    for ex, pred, _ in pairs:
        confusion[ex.label][pred] += 1
    per_intent: dict[str, dict[str, float]] = {}
    f1s = []
    for label in LABELS:
        tp = confusion[label][label]
        predicted = sum(confusion[g][label] for g in LABELS)
        actual = sum(confusion[label].values())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[label] = {"precision": round(precision, 4), "recall": round(recall, 4),
                             "f1": round(f1, 4), "support": actual}
        if actual:
            f1s.append(f1)
    correct = sum(1 for ex, pred, _ in pairs if pred == ex.label)
    confident = [(ex, pred) for ex, pred, conf in pairs if conf >= threshold]
    confident_right = sum(1 for ex, pred in confident if pred == ex.label)
    errors = [{"id": ex.id, "text": ex.text, "gold": ex.label, "pred": pred,
               "confidence": round(conf, 3)} for ex, pred, conf in pairs if pred != ex.label]
    n = len(pairs)
    accuracy_ci, macro_f1_ci = bootstrap([LABELS.index(ex.label) for ex, _, _ in pairs],
                                         [LABELS.index(pred) for _, pred, _ in pairs])
    return Report(
        n=n,
        accuracy=correct / n if n else 0.0,
        macro_f1=sum(f1s) / len(f1s) if f1s else 0.0,
        per_intent=per_intent,
        confusion=confusion,
        confident_precision=confident_right / len(confident) if confident else 0.0,
        confident_coverage=len(confident) / n if n else 0.0,
        threshold=threshold,
        errors=errors,
        accuracy_ci=accuracy_ci,
        macro_f1_ci=macro_f1_ci,
        confident_precision_ci=mean_interval([pred == ex.label for ex, pred in confident]),
    )


def bootstrap(gold: Sequence[int], pred: Sequence[int], rounds: int = 1000,
              seed: int = 0) -> tuple[tuple[float, float], tuple[float, float]]:
    """95% percentile intervals of accuracy and macro-F1 over ``rounds`` resamples of the
    lines (with replacement); macro-F1 averages the labels present in each resample."""
    if not gold:
        return (0.0, 0.0), (0.0, 0.0)
    g = np.asarray(gold)
    p = np.asarray(pred)
    picks = np.random.default_rng(seed).integers(0, len(g), size=(rounds, len(g)))
    gs, ps = g[picks], p[picks]
    accuracy = (gs == ps).mean(axis=1)
    f1_sum = np.zeros(rounds)
    present = np.zeros(rounds)
    for label in range(len(LABELS)):
        is_gold, is_pred = gs == label, ps == label
        tp = (is_gold & is_pred).sum(axis=1)
        denominator = is_gold.sum(axis=1) + is_pred.sum(axis=1)
        f1_sum += np.divide(2 * tp, denominator, out=np.zeros(rounds), where=denominator > 0)
        present += is_gold.any(axis=1)
    macro = f1_sum / np.maximum(present, 1)

    def interval(values: np.ndarray) -> tuple[float, float]:
        low, high = np.percentile(values, [2.5, 97.5])
        return float(low), float(high)

    return interval(accuracy), interval(macro)


def mean_interval(values: Sequence[float], rounds: int = 1000,
                  seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean of ``values`` over ``rounds`` resamples."""
    if not values:
        return 0.0, 0.0
    v = np.asarray(values, dtype=float)
    means = v[np.random.default_rng(seed).integers(0, len(v), size=(rounds, len(v)))].mean(
        axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def format_report(report: Report, show_errors: int = 0) -> str:
    """A plain-text report for the terminal."""
    lines = [
        f"lines: {report.n}",
        f"accuracy: {report.accuracy:.3f}  (95% bootstrap interval "
        f"{report.accuracy_ci[0]:.3f}–{report.accuracy_ci[1]:.3f})",
        f"macro-F1: {report.macro_f1:.3f}  (95% bootstrap interval "
        f"{report.macro_f1_ci[0]:.3f}–{report.macro_f1_ci[1]:.3f})",
        f"confident (>= {report.threshold:.2f}): precision {report.confident_precision:.3f}"
        f" on {report.confident_coverage:.0%} of lines  (95% bootstrap interval "
        f"{report.confident_precision_ci[0]:.3f}–{report.confident_precision_ci[1]:.3f})",
        "",
        f"{'intent':<10} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>5}",
    ]
    for label, m in report.per_intent.items():
        lines.append(f"{label:<10} {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f}"
                     f" {int(m['support']):>5}")
    lines += ["", "confusion (rows: gold, columns: predicted)",
              "           " + " ".join(f"{label[:6]:>6}" for label in LABELS)]
    for gold in LABELS:
        lines.append(f"{gold:<10} " + " ".join(f"{report.confusion[gold][p]:>6}" for p in LABELS))
    if show_errors:
        pairs = Counter((e["gold"], e["pred"]) for e in report.errors)
        lines += ["", "most confused pairs (gold → predicted):"]
        for (gold, pred), count in pairs.most_common(show_errors):
            lines.append(f"  {gold} → {pred}: {count}")
            for err in _first(report.errors, gold, pred, 3):
                lines.append(f"      {err['confidence']:.2f}  {err['text'][:60]}")
    return "\n".join(lines)


def _first(errors: Iterable[dict[str, Any]], gold: str, pred: str, k: int) -> list[dict[str, Any]]:
    return [e for e in errors if e["gold"] == gold and e["pred"] == pred][:k]


def _bigrams(text: str) -> set[str]:
    core = "".join(ch for ch in text.lower() if ch.isalnum())
    return {core[i : i + 2] for i in range(len(core) - 1)} or {core}


def leaks(library: dict[str, list[str]], examples: Sequence[Example],
          threshold: float = 0.8) -> list[dict[str, Any]]:
    """Library examples that (nearly) repeat an evaluation line: a measurement is only
    honest when the library was not written from the lines it is measured on."""
    found = []
    grams = [(ex, _bigrams(ex.text)) for ex in examples]
    for intent, lines in library.items():
        for line in lines:
            mine = _bigrams(line)
            for ex, theirs in grams:
                union = len(mine | theirs)
                similarity = len(mine & theirs) / union if union else 0.0
                if similarity >= threshold and min(len(mine), len(theirs)) >= 3:
                    found.append({"intent": intent, "example": line, "id": ex.id,
                                  "similarity": round(similarity, 2)})
    return found
