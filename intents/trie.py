"""Regexes shaped like a trie, for scanning a line for any of many words in one C pass."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def trie_pattern(words: Iterable[str]) -> str:
    """A pattern matching any of ``words``, longest first at each position ("" if none).

    A plain ``a|ab|abc`` alternation tries hundreds of branches per character and picks the
    first, not the longest; nesting by shared prefix with greedy optional tails fixes both.
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return "(?:" + body + ")?" if "" in node else body

    return build(trie) if trie else ""


def trie_regex(words: Iterable[str]) -> re.Pattern[str] | None:
    """:func:`trie_pattern` compiled; None when there are no words."""
    pattern = trie_pattern(words)
    return re.compile(pattern) if pattern else None


def starts_regex(words: Iterable[str]) -> re.Pattern[str] | None:
    """Finds, at *every* position, the longest of ``words`` starting there (in group 1):
    unlike a plain scan, a match does not hide the words that start inside it."""
    pattern = trie_pattern(words)
    return re.compile(f"(?=({pattern}))") if pattern else None
