"""How well does ``score(text).anger`` separate complaints from everything else?

Usage (from the repo root)::

    .venv/bin/python bench/sentiment_auc.py ../shared/data/intents_dev.tsv

Reads ``ID<TAB>TEXT<TAB>LABEL`` lines and prints the ROC AUC of anger for ``complaint``
against all other labels, the counts, per-label anger quantiles and the throughput.
It prints figures only, never the lines: the file is held-out measurement data, and the
lexicon must not be tuned line by line against it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intents.sentiment import ANGRY, score

POSITIVE_LABEL = "complaint"


def read_tsv(path: Path) -> list[tuple[str, str]]:
    """(text, label) pairs; malformed lines are skipped and counted, not fatal."""
    rows: list[tuple[str, str]] = []
    bad = 0
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                bad += 1 if line.strip() else 0
                continue
            rows.append((parts[1], parts[-1].strip()))
    if bad:
        print(f"skipped {bad} malformed lines", file=sys.stderr)
    return rows


def roc_auc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """Mann-Whitney rank formula with average ranks for ties (no sklearn needed)."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(positive, dtype=bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=float)
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average rank over each block of tied scores
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    rank_sum = float(ranks[y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def throughput(texts: Sequence[str], seconds: float = 1.0) -> float:
    """score() calls per second over the file's lines (short lines, as in production)."""
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for t in texts:
            score(t)
        n += len(texts)
    return n / (time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> int:
    """Print AUC, counts and quantiles; exit 1 if the file has no usable lines."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tsv", type=Path, help="ID<TAB>TEXT<TAB>LABEL file")
    args = ap.parse_args(argv)

    rows = read_tsv(args.tsv)
    if not rows:
        print("no usable lines", file=sys.stderr)
        return 1
    texts = [t for t, _ in rows]
    angers = [score(t).anger for t in texts]
    is_pos = [label == POSITIVE_LABEL for _, label in rows]

    auc = roc_auc(angers, is_pos)
    try:  # cross-check against sklearn when it is available
        from sklearn.metrics import roc_auc_score

        auc_sk: float | None = float(roc_auc_score(is_pos, angers))
    except Exception:
        auc_sk = None

    n_pos = sum(is_pos)
    print(f"lines: {len(rows)}  {POSITIVE_LABEL}: {n_pos}  other labels: {len(rows) - n_pos}")
    sk = f"  (sklearn: {auc_sk:.4f})" if auc_sk is not None else ""
    print(f"ROC AUC of anger, {POSITIVE_LABEL} vs rest: {auc:.4f}{sk}")

    by_label: dict[str, list[float]] = defaultdict(list)
    for (_, label), a in zip(rows, angers, strict=True):
        by_label[label].append(a)
    qs = (10, 25, 50, 75, 90)
    header = "  ".join(f"p{q:<4d}" for q in qs)
    print(f"\n{'label':<11}{'n':>5}  {header}  mean   >=ANGRY  >0")
    for label in sorted(by_label, key=lambda k: (k != POSITIVE_LABEL, k)):
        vals = np.asarray(by_label[label])
        qv = "  ".join(f"{v:.3f}" for v in np.percentile(vals, qs))
        hot = float((vals >= ANGRY).mean())
        nonzero = float((vals > 0).mean())
        print(f"{label:<11}{len(vals):>5}  {qv}  {vals.mean():.3f}  {hot:6.1%}  {nonzero:5.1%}")

    print(f"\nthroughput: {throughput(texts):,.0f} score() calls/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
