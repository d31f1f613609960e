"""Line diffs between two libraries (two versions, or a version and a draft)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    kind: str  # "add", "del", "ctx" or "hunk"
    text: str


@dataclass(frozen=True)
class FileDiff:
    path: str
    status: str  # "added", "removed" or "changed"
    lines: list[Line]

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.kind == "add")

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.kind == "del")


def diff_texts(old: Mapping[str, str], new: Mapping[str, str], context: int = 2) -> list[FileDiff]:
    """Changed files in path order, each as unified-diff lines."""
    diffs = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        status = "added" if before is None else "removed" if after is None else "changed"
        lines = []
        for raw in list(difflib.unified_diff((before or "").splitlines(),
                                             (after or "").splitlines(), n=context,
                                             lineterm=""))[2:]:
            kind = {"+": "add", "-": "del", "@": "hunk"}.get(raw[:1], "ctx")
            lines.append(Line(kind, raw if kind == "hunk" else raw[1:]))
        diffs.append(FileDiff(path, status, lines))
    return diffs


def changed_paths(old: Mapping[str, str], new: Mapping[str, str]) -> set[str]:
    return {p for p in set(old) | set(new) if old.get(p) != new.get(p)}


def rebase(base: Mapping[str, str], mine: Mapping[str, str],
           theirs: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Move my changes (base → mine) onto ``theirs``, file by file.

    Returns the merged texts and the files both sides changed differently (conflicts keep
    their version; the caller decides whether to accept that).
    """
    merged = dict(theirs)
    conflicts = []
    for path in sorted(changed_paths(base, mine)):
        if path in changed_paths(base, theirs) and mine.get(path) != theirs.get(path):
            conflicts.append(path)
            continue
        if path in mine:
            merged[path] = mine[path]
        else:
            merged.pop(path, None)
    return merged, conflicts
