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

WORD_PREFIXES = ("w:", "b:", "<kw:")


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


def features(text: str, max_n: int = 3) -> Counter[str]:
    """Char 1..max_n-grams per punctuation-free chunk (with edge markers), words, bigrams."""
    folded = model_text(text)
    core = _FILLER.sub("", _SPACE_PUNCT.sub(" ", folded).strip()) or folded
    feats: Counter[str] = Counter()
    chunks = [c for c in _SPACE_PUNCT.split(core) if c]
    if not chunks:
        feats["<empty>"] += 1
        return feats
    for chunk in chunks:
        padded = f"^{chunk}$"
        for n in range(1, max_n + 1):
            for i in range(len(padded) - n + 1):
                gram = padded[i : i + n]
                if gram not in ("^", "$"):
                    feats[gram] += 1
    words = _words(core)
    for word in words:
        feats["w:" + word] += 1
    for left, right in pairwise(words):
        feats[f"b:{left}_{right}"] += 1
    length = len(core)
    size = "1" if length <= 2 else "s" if length <= 6 else "m" if length <= 20 else "l"
    feats[f"<len:{size}>"] += 1
    if "?" in folded or "吗" in folded or "么" in folded:
        feats["<q>"] += 1
    return feats


def is_word_feature(feature: str) -> bool:
    return feature.startswith(WORD_PREFIXES)
