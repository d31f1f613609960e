"""One cleaning of shoppers' text where it enters (web chat, Telegram), for every store.

A lone surrogate (``\\ud83d`` from a cut emoji) cannot be encoded as UTF-8, so a line
carrying one broke every later step that wrote the conversation; control characters are
noise in a transcript and a hazard in a console. Both go here, once.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """Lone surrogates become U+FFFD; control characters but newline and tab are dropped."""
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", text))


def clean_tree(value: Any) -> Any:
    """``clean_text`` on every string (keys too) of parsed JSON."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_tree(k): clean_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_tree(v) for v in value]
    return value
