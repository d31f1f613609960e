"""One cleaning of shoppers' text where it enters (web chat, Telegram), for every store.

A lone surrogate (``\\ud83d`` from a cut emoji) cannot be encoded as UTF-8, so a line
carrying one broke every later step that wrote the conversation; control characters are
noise in a transcript and a hazard in a console. Both go here, once.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Deeper JSON than this is refused: no message of ours nests more than a few levels.
MAX_DEPTH = 32

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """Lone surrogates become U+FFFD; control characters but newline and tab are dropped."""
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", text))


def clean_tree(value: Any, depth: int = 0) -> Any:
    """``clean_text`` on every string (keys too) of parsed JSON; ValueError when it nests
    deeper than MAX_DEPTH."""
    if isinstance(value, str):
        return clean_text(value)
    if depth >= MAX_DEPTH and isinstance(value, (dict, list)):
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_tree(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_tree(v, depth + 1) for v in value]
    return value


def load_json(raw: str | bytes) -> Any:
    """JSON from outside, cleaned: ValueError for anything unusable (not UTF-8, not JSON,
    nested too deeply), never another exception."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    return clean_tree(value)
