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
from functools import lru_cache
from itertools import pairwise

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
def _words(core: str) -> tuple[str, ...]:
    return tuple(w for w in jieba.lcut(core, HMM=False)
                 if w.strip() and not _SPACE_PUNCT.fullmatch(w))


def features(text: str, max_n: int = 3) -> tuple[Counter[str], Counter[str]]:
    """Two blocks: char 1..max_n-grams per punctuation-free chunk (with edge markers) plus
    shape features; and jieba words with word bigrams (prefixed ``w:`` and ``b:``)."""
    folded = model_text(text)
    core = _FILLER.sub("", _SPACE_PUNCT.sub(" ", folded).strip()) or folded
    chunks = [c for c in _SPACE_PUNCT.split(core) if c]
    if not chunks:
        return Counter(("<empty>",)), Counter()
    grams: list[str] = []
    for chunk in chunks:
        padded = f"^{chunk}$"
        grams += chunk
        for n in range(2, max_n + 1):
            grams += [padded[i : i + n] for i in range(len(padded) - n + 1)]
    length = len(core)
    grams.append("<len:1>" if length <= 2 else "<len:s>" if length <= 6
                 else "<len:m>" if length <= 20 else "<len:l>")
    if "?" in folded or "吗" in folded or "么" in folded:
        grams.append("<q>")
    words = _words(core)
    tokens = ["w:" + word for word in words]
    tokens += [f"b:{left}_{right}" for left, right in pairwise(words)]
    # Counter() over a list counts in C: far cheaper than incrementing gram by gram.
    return Counter(grams), Counter(tokens)
