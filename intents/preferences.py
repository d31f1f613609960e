"""Fit preference (宽松 / 修身 / 标准) in a shopper's line, for the sizing dialogue."""

from __future__ import annotations

import re
from typing import Literal

Fit = Literal["loose", "regular", "slim"]

_BARE_NUMBER = re.compile(r"^\D{0,4}?(\d{2,3}(?:\.\d)?)\D{0,4}$")

_NEGATED = r"(?<!不)(?<!不要)(?<!不想)(?<!别)"
_FIT_PATTERNS: tuple[tuple[Fit, re.Pattern[str]], ...] = (
    ("loose", re.compile(
        _NEGATED + r"(宽松|宽大|宽一点|宽点|大一点|大点|松一点|松点|oversize|落肩|肥一点)", re.I)),
    ("slim", re.compile(_NEGATED + r"(修身|紧身|贴身|合身一点|收腰|瘦一点|显瘦|小一点|紧一点)")),
    ("regular", re.compile(r"(标准|正常|合身|常规|一般|都行|无所谓|随便|正好)")),
)


def detect_fit(text: str) -> Fit | None:
    """The first fit preference the line states, or None."""
    best: tuple[int, Fit] | None = None
    for fit, pattern in _FIT_PATTERNS:
        match = pattern.search(text)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), fit)
    return best[1] if best else None


def bare_number(text: str) -> float | None:
    """A lone number with at most a few words around it ("我170", "65吧"): an answer to a
    question the bot just asked, which the entity extractor cannot read without that context."""
    match = _BARE_NUMBER.match(text.strip())
    return float(match.group(1)) if match else None


_RATING = re.compile(r"^\s*([1-5])\s*(?:分|星|颗星)?\s*[!.。！]*\s*$")


def rating_of(text: str) -> int | None:
    """A 1-5 satisfaction rating ("5", "4分", "5星!"), or None when the line is not one."""
    match = _RATING.match(text)
    return int(match.group(1)) if match else None
