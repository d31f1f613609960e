"""Features of one normalised line: the same function at training and at inference time.

Two blocks, each normalised on its own so neither drowns the other: character n-grams
(robust to typos and unseen words) and jieba words with word bigrams (what the line is
about). Shop-chat noise (order numbers, links, placeholders such as ``[订单x]``, particles
like 亲/哈/呢) is folded into a few tokens so that it neither dominates nor splits the vocabulary.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from operator import add

try:  # the same dictionary and algorithm compiled to C: three times faster per line
    import jieba_fast as jieba
except ImportError:  # pragma: no cover - the pure-Python original gives (nearly) equal words
    import jieba

jieba.setLogLevel(logging.WARNING)

_URL = re.compile(r"(https?://|www\.)\S+", re.I)
_PLACEHOLDER = re.compile(
    r"\[(?:ORDERID_\w+|订单\w*|数字\w*|地址\w*|金额\w*|站点\w*|电话\w*|姓名\w*)\]", re.I
)
_LONG_NUMBER = re.compile(r"\d{6,}")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PARTICLES = r"(?:亲+|哈+|呢|啊|呀|哦|噢|吧|嘛|咯|啦)+"
_FILLER = re.compile(rf"^{_PARTICLES}|{_PARTICLES}$")
_SPACE_PUNCT = re.compile(r"[\s,.!?;:~'\"()\[\]{}<>、，。！？；：…“”‘’（）【】《》]+")


def model_text(text: str) -> str:
    """Fold noise in a normalised line: links → U, order numbers → N, numbers → 9."""
    text = text.lower()
    text = _URL.sub("U", text)
    text = _PLACEHOLDER.sub("N", text)
    text = _LONG_NUMBER.sub("N", text)
    return _NUMBER.sub("9", text)


def init_words() -> None:
    """Load jieba's dictionary now (about a second) instead of on the first shopper line."""
    jieba.initialize()


@lru_cache(maxsize=20000)
def _word_tokens(core: str) -> tuple[str, ...]:
    """jieba words (``w:``) and word bigrams (``b:``) of a line: the costliest part of the
    features, so kept per line (shoppers repeat short lines: 好的, 在吗, 人工)."""
    words = [w for w in jieba.lcut(core, HMM=False)
             if w.strip() and not _SPACE_PUNCT.fullmatch(w)]
    return (*["w:" + word for word in words],
            *[f"b:{left}_{right}" for left, right in pairwise(words)])


def _count(items: Sequence[str]) -> dict[str, int]:
    """Occurrences of each item. Most features of a short line occur once, and
    ``dict.fromkeys`` (C, no Counter set-up) already counts those right."""
    counts = dict.fromkeys(items, 1)
    return counts if len(counts) == len(items) else dict(Counter(items))


def features(text: str, max_n: int = 3) -> tuple[dict[str, int], dict[str, int]]:
    """Two blocks, feature → count: char 1..max_n-grams per punctuation-free chunk (with
    edge markers) plus shape features; and jieba words with word bigrams (``w:``, ``b:``).

    The intent classifier, the topic classifier and the nearest-phrasing search all read
    the same line: it is computed once (kept for the last few lines) and each caller gets
    its own copy to change.
    """
    chars, words = _features(text, max_n)
    return dict(chars), dict(words)


@lru_cache(maxsize=256)
def _features(text: str, max_n: int) -> tuple[dict[str, int], dict[str, int]]:
    folded = model_text(text)
    core = _FILLER.sub("", _SPACE_PUNCT.sub(" ", folded).strip()) or folded
    chunks = [c for c in _SPACE_PUNCT.split(core) if c]
    if not chunks:
        return {"<empty>": 1}, {}
    grams: list[str] = []
    for chunk in chunks:
        padded = f"^{chunk}$"
        grams += chunk
        longer: list[str] = list(padded)
        for n in range(2, max_n + 1):
            # n-grams = (n-1)-grams + the next character, concatenated in C by map(add).
            longer = list(map(add, longer, padded[n - 1:]))
            grams += longer
    length = len(core)
    grams.append("<len:1>" if length <= 2 else "<len:s>" if length <= 6
                 else "<len:m>" if length <= 20 else "<len:l>")
    if "?" in folded or "吗" in folded or "么" in folded:
        grams.append("<q>")
    return _count(grams), _count(_word_tokens(core))
