"""Features of one normalised line: the same function at training and at inference time.

Character n-grams carry most of the signal in short Chinese lines; shop-chat noise (order
numbers, links, placeholders such as ``[订单x]``, particles like 亲/哈/呢) is folded into
a few tokens so that it neither dominates nor splits the vocabulary.
"""

from __future__ import annotations

import re
from collections import Counter

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
    text = _NUMBER.sub("9", text)
    return text


def features(text: str, max_n: int = 3) -> Counter[str]:
    """Char 1..max_n-grams of each punctuation-free chunk, with start/end markers."""
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
                if gram in ("^", "$"):
                    continue
                feats[gram] += 1
    length = len(core)
    feats["<len:%s>" % ("1" if length <= 2 else "s" if length <= 6 else "m" if length <= 20
                        else "l")] += 1
    if "?" in folded or "吗" in folded or "么" in folded:
        feats["<q>"] += 1
    return feats
