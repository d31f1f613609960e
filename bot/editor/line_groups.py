"""Group near-duplicate unanswered lines, so a manager reads each question once, with a count.

Lines compare as the classifier reads them (normalised Simplified, letters and digits only);
rapidfuzz's whole-string ratio puts a line into the first group whose first line it is this
near to, so "包邮吗亲" and "包邮吗？" are one group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.library.unanswered import Line

#: rapidfuzz ratio (0..100) at which two lines are the same question.
SAME = 80


@dataclass
class Group:
    """Near-duplicate lines, newest first; ``text`` is the newest one."""

    key: str
    lines: list[Line] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.lines[0].text

    @property
    def count(self) -> int:
        return len(self.lines)

    @property
    def newest(self) -> float:
        return self.lines[0].at

    @property
    def texts(self) -> list[str]:
        """Each different wording once, newest first."""
        return list(dict.fromkeys(line.text for line in self.lines))

    @property
    def guess(self) -> str | None:
        """The topic the lines came nearest to, summed over the group."""
        totals: dict[str, float] = defaultdict(float)
        for line in self.lines:
            if line.topic:
                totals[line.topic] += line.score
        return max(totals, key=lambda t: totals[t]) if totals else None

    @property
    def actions(self) -> list[str]:
        return list(dict.fromkeys(line.action for line in self.lines))


def key_of(text: str, normalize: Callable[[str], str]) -> str:
    """What two lines must share to be the same question (letters and digits)."""
    return "".join(ch for ch in normalize(text).lower() if ch.isalnum())


def group_lines(lines: Iterable[Line], normalize: Callable[[str], str],
                same: float = SAME) -> list[Group]:
    """Newest-first lines into groups, newest group first (blocking: run it in a thread)."""
    groups: list[Group] = []
    keys: list[str] = []
    exact: dict[str, Group] = {}
    for line in sorted(lines, key=lambda item: item.at, reverse=True):
        key = key_of(line.text, normalize) or line.text
        group = exact.get(key)
        if group is None:
            found = process.extractOne(key, keys, scorer=fuzz.ratio, score_cutoff=same)
            if found is not None:
                group = groups[found[2]]
            else:
                group = Group(key)
                groups.append(group)
                keys.append(key)
            exact[key] = group
        group.lines.append(line)
    return groups
