"""Training-time variants of library examples, so managers need not write every spelling.

Shoppers often open with a greeting and then ask (你好，我要退货), and Taobao lines drop
punctuation. Adding such variants of the library's own examples teaches the classifier that
the request decides the intent, without anyone writing those combinations by hand.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

#: What Taobao lines lose: punctuation and the spaces that stand in for it.
_PUNCT = re.compile(r"[，。！？?!,.~～、\s]")
_ENDINGS = ("", "", "?", "呢", "啊", "吗", "哈", "~")


def variants(examples: Sequence[str], openers: Sequence[str], *, rate: float = 0.3,
             seed: int = 0) -> list[str]:
    """The examples plus, for about ``rate`` of them each, an opener-prefixed variant and a
    punctuation-free variant with a casual ending. Deterministic for a given seed."""
    rng = random.Random(seed)
    out = list(examples)
    seen = set(out)
    for example in examples:
        candidates = []
        if openers and rng.random() < rate:
            candidates.append(f"{rng.choice(openers)} {example}")
        if rng.random() < rate:
            candidates.append(_PUNCT.sub("", example) + rng.choice(_ENDINGS))
        for candidate in candidates:
            if candidate not in seen and candidate.strip():
                seen.add(candidate)
                out.append(candidate)
    return out
