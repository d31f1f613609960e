"""Text normalisation: one canonical form for everything that reads shopper text.

Shoppers write Simplified and Traditional, full-width digits (１７０), emoji, runs of
punctuation and stray spaces. Everything downstream (classifier, entities, sentiment) sees
Simplified, half-width text with those runs folded, so the library only needs one spelling.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import opencc

_t2s = opencc.OpenCC("t2s")
_s2t = opencc.OpenCC("s2t")

_PUNCT_RUN = re.compile(r"([!?.,~。，！？、…~\-_=*#])\1+")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202f\ufeff]")
#: What a line made only of emoji reads as (like the shop apps' own [微笑] stickers).
EMOJI_ONLY = "[表情]"
_CJK = re.compile(r"[\u4e00-\u9fff]")
#: Characters that are never emoji: a line made only of these skips the per-character check.
_PLAIN = re.compile(r"[0-9A-Za-z\u4e00-\u9fff\s,.!?:;，。！？、：；（）()“”\"'%/+\-]*")


@dataclass(frozen=True, slots=True)
class Normalized:
    """The canonical text plus what was learned on the way (was it Traditional?)."""

    text: str
    traditional: bool
    emoji: int


def _is_emoji(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat in ("So", "Sk", "Cs", "Co") or 0x1F000 <= ord(ch) <= 0x1FAFF or ch == "\ufe0f"


def is_traditional(text: str) -> bool:
    """True when the text uses Traditional characters and no Simplified-only ones."""
    if not _CJK.search(text):
        return False
    return bool(_t2s.convert(text) != text and _s2t.convert(text) == text)


def normalize(text: str) -> Normalized:
    """Canonical form: NFKC (full-width → half-width), Simplified, emoji and runs folded."""
    text = _CONTROL.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    emoji = 0
    if not _PLAIN.fullmatch(text):
        kept = []
        for ch in text:
            if _is_emoji(ch):
                emoji += 1
                kept.append(" ")
            else:
                kept.append(ch)
        text = "".join(kept)
    # One t2s conversion serves both the Traditional check and the output.
    if _CJK.search(text):
        simplified = str(_t2s.convert(text))
        traditional = simplified != text and _s2t.convert(text) == text
        text = simplified
    else:
        traditional = False
    text = _PUNCT_RUN.sub(r"\1", text)
    text = _SPACES.sub(" ", text).strip()
    if not text and emoji:
        # A line of emoji only (👍, 😊) still says something: the library can answer it.
        text = EMOJI_ONLY
    return Normalized(text=text, traditional=traditional, emoji=emoji)
