"""Text folding and numeral parsing used by :mod:`intents.entities`.

Folding is strictly one character to one character, so every offset found in the folded
text is also an offset into the shopper's original text.  That is why a small table is used
instead of OpenCC, whose phrase-level conversion may change the length of the string.
"""

from __future__ import annotations

from functools import lru_cache

import cn2an

CN_DIGITS = "零〇一二两三四五六七八九"
"""Chinese digit characters (no multipliers); 两 counts as 2."""

_DIGIT_VALUE: dict[str, int] = {c: i for i, c in enumerate("〇一二三四五六七八九")}
_DIGIT_VALUE["零"] = 0
_DIGIT_VALUE["两"] = 2

# Traditional → Simplified for the characters our patterns care about, plus the formal
# "banker's" numerals (壹贰叁…) that some shoppers type when quoting prices.
_TRAD = (
    "體体個个頭头釐厘碼码號号腳脚長长圍围訂订單单編编塊块錢钱萬万兩两價价費费優优運运"
    "現现雙双褲裤幾几來来點点電电話话機机寬宽約约貳二參三陸六"
    "壹一贰二叁三肆四伍五陆六柒七捌八玖九拾十佰百仟千"
)
_FOLD: dict[int, str] = {cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)}
_FOLD.update({ord(_TRAD[i]): _TRAD[i + 1] for i in range(0, len(_TRAD), 2)})
_FOLD.update({0x3000: " ", 0xA0: " ", 0xFFE5: "¥", 0x2014: "-", 0x2013: "-"})
_FOLD_TABLE = str.maketrans(_FOLD)


def fold(text: str) -> str:
    """Full-width → half-width and Traditional → Simplified, keeping the length unchanged."""
    return text.translate(_FOLD_TABLE)


def digits_value(chars: str) -> int | None:
    """Read digit-by-digit Chinese ("七五" → 75) or ASCII digits; None if any char is not one."""
    value = 0
    for ch in chars:
        if ch.isascii() and ch.isdigit():
            value = value * 10 + int(ch)
        elif ch in _DIGIT_VALUE:
            value = value * 10 + _DIGIT_VALUE[ch]
        else:
            return None
    return value if chars else None


@lru_cache(maxsize=4096)
def parse_num(token: str) -> float | None:
    """Parse "175", "1.75", "一百七十五", "1.5万", "1百" into a float; None when not a number.

    Plain ASCII numbers take the fast path; anything with Chinese numerals goes through
    cn2an (cached, because it costs ~20 µs a call), whose errors are swallowed.
    """
    if not token:
        return None
    if token.isascii():
        try:
            return float(token)
        except ValueError:
            return None
    try:
        result = cn2an.cn2an(token, "smart")
    except Exception:  # cn2an raises ValueError and, on odd input, other errors
        return None
    return float(result) if isinstance(result, int | float) else None


def as_number(value: float) -> int | float:
    """Return an int when the value is whole, so slots read 130 rather than 130.0."""
    return int(value) if float(value).is_integer() else round(value, 2)


# Regex fragments shared by the entity patterns (compile with re.IGNORECASE | re.ASCII).
CN_NUM_RE = rf"[{CN_DIGITS}十百千万]+(?:点[{CN_DIGITS}]+)?"
"""A Chinese numeral: 一百七十五, 三十七点五, 七五."""
NUM_RE = rf"(?:(?<![0-9.])[0-9]+(?:\.[0-9]+)?(?:[十百千万]+[{CN_DIGITS}]?)?(?![0-9])|{CN_NUM_RE})"
"""Any number a shopper types: 175, 1.75, 1百, 1.5万 or a Chinese numeral."""
NOT_OTHER_UNIT_RE = (
    r"(?!\s{0,3}(?:[a-z%]|[年月日号点分秒天周个件条双只套次岁元块钱折码寸尺斤克米吨升度倍楼层位名期]"
    r"|小时|分钟|公))"
)
"""Lookahead rejecting numbers that are prices, counts, dates, ages … not body measures."""
