"""Rule-based entity extraction for shopper messages (height, weight, sizes, orders, money…).

Regexes instead of a tokenizer: lines are short and the bot calls this on every message, so
it must stay well above 20k calls/s.  Stages run in priority order and may only claim
characters nobody claimed before: that is what stops "13812345678" from also being an order
number and "199元" from also being a height.  Each stage is gated by a cheap substring test
so that lines without, say, "鞋" never pay for the shoe regexes.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from intents.numbers import (
    CN_DIGITS,
    CN_NUM_RE,
    NOT_OTHER_UNIT_RE,
    NUM_RE,
    as_number,
    digits_value,
    fold,
    parse_num,
)

__all__ = ["Entity", "EntityKind", "extract", "mask_pii", "slots_from"]

_log = logging.getLogger(__name__)

EntityKind = Literal[
    "height", "weight", "shoe_size", "foot_length", "size", "waist", "order_id", "phone", "money"
]


@dataclass(frozen=True, slots=True)
class Entity:
    """One recognised value; ``text``/``start``/``end`` point into the caller's original text."""

    kind: EntityKind
    value: float | int | str
    text: str
    start: int
    end: int


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.ASCII)


_D = CN_DIGITS
_NUM = NUM_RE
_NOT_OTHER = NOT_OTHER_UNIT_RE
_S = r"\s{0,3}"  # bounded: an unbounded \s* backtracks quadratically on long blanks
_FILL = r"(?:是|有|大概|大约|约|在|差不多|一般|平时|刚|才|就|为)?[\s:]{0,4}"
_BED = r"(?!\s{0,3}的?\s{0,3}(?:床|宽|长|布|桌|柜|被|沙发|窗|门))"  # 1米5的床 is furniture
_GARMENT_CHARS = frozenset("长宽围袖肩胸臀腿腰脚领摆")  # 衣长70cm is not a height
_SHOE_WORDS = ("鞋", "靴", "脚")
_CLOTHES_WORDS = ("裤", "衣", "裙", "衫", "恤", "外套", "腰", "胸")
_MONEY_WORDS = ("便宜", "优惠", "差价", "退款", "返现", "价", "运费", "预算", "补偿", "赔偿")

_ORDER_PH = _c(r"\[ORDERID_([0-9]+)\]")
_ORDER_PH_CN = _c(r"\[订单[^\[\]\n]{0,20}\]")
_PHONE = _c(r"(?<![0-9])(?:(?:\+|00)?86[\s-]?)?1[3-9][0-9][\s-]?[0-9]{4}[\s-]?[0-9]{4}(?![0-9])")
_ORDER_KW = _c(r"(?:订单号?|单号|编号)(?:码)?(?:是|为)?[\s:#]{0,4}([0-9]{6,20})(?![0-9])")
_ORDER_BARE = _c(r"(?<![0-9])[0-9]{10,20}(?![0-9])")
_SIX_DIGITS = _c(r"[0-9]{6}")
_PHONE_HINT = _c(r"1[3-9][0-9]")

_MONEY_PREFIX = _c(rf"(?:[¥$]|rmb|人民币){_S}({_NUM})")
_MONEY_UNIT = _c(
    rf"({_NUM}){_S}(?:多|来|几|余)?{_S}(?:块钱|块(?!儿)|元|rmb|人民币|圆)(?:([0-9])(?![0-9.]))?"
)
_MONEY_WAN = _c(r"(?<![0-9.])[0-9]+(?:\.[0-9]+)?万(?!\s{0,3}(?:步|人|次|个|件|粉|字|公里|年))")
_MONEY_KW = _c(
    rf"(?:便宜|优惠|差价|退款|返现|价格|价钱|原价|现价|到手价|运费|预算|补偿|赔偿){_FILL}"
    rf"(?:了|只要|能)?[\s:]{{0,4}}({_NUM})(?![0-9.])(?!{_S}(?:[%折件个天号月年]|小时))"
)

_WAIST_CHI = _c(
    rf"(?<![0-9.])([0-9](?:\.[0-9])?|[一二两三]){_S}尺{_S}(?:([0-9]|[{_D}])(?![0-9])(?:{_S}寸)?)?"
    r"(?![码子])"
)
_WAIST_KW = _c(rf"腰围?{_FILL}({_NUM})(?:{_S}(cm|厘米|公分|英寸|inch|寸))?(?![0-9.])")

_FOOT_KW = _c(
    rf"(?:脚长|脚的长度|脚掌长|脚底长|脚长度){_FILL}([0-9]+(?:\.[0-9]+)?|{CN_NUM_RE})"
    r"(?:\s{0,3}(cm|厘米|公分|mm|毫米))?(?![0-9.])"
)
_FOOT_UNIT = _c(r"(?<![0-9.])([0-9]+(?:\.[0-9]+)?)\s{0,3}(cm|厘米|公分|mm|毫米)(?![a-z])")
_SHOE_EU = _c(r"(?<![a-z0-9.])(?:eur?|欧码|国码)\s{0,3}([0-9]{2}(?:\.5)?)(?![0-9])")
_SHOE_BEFORE_SHOE = _c(
    rf"({_NUM}){_S}(?:码|号)?{_S}(半)?{_S}的?{_S}(?:鞋|靴|运动鞋|皮鞋|板鞋|拖鞋|球鞋|凉鞋)"
)
_SHOE_CODE = _c(rf"({_NUM}){_S}(码|号)(半)?")
_SHOE_KW = _c(
    r"(?:鞋码|鞋号|鞋子?|靴子?)(?:是|穿|一般|平时|都|要|的|码)*[\s:]{0,4}([0-9]{2}(?:\.5)?)(?![0-9.])"
)
_SHOE_WEAR = _c(r"穿\s{0,3}([0-9]{2}(?:\.5)?)(?![0-9.])")
_SHOE_BARE = _c(r"(?<![0-9.a-z¥$#第满减共买花付送])([34][0-9](?:\.5)?)(?![0-9.])" + _NOT_OTHER)

_H_METRE_COMPOUND = _c(
    rf"(?<![0-9.])[1一]{_S}(?:米|m){_S}([0-9]{{1,2}}|[{_D}]{{1,2}})(?![0-9]){_BED}"
)
_H_METRE_DECIMAL = _c(rf"(?<![0-9.])([12]\.[0-9]{{1,2}}){_S}(?:米|m)(?![a-z]){_BED}")
_H_CM = _c(rf"({_NUM}){_S}(?:cm|厘米|公分)(?![a-z])")
_H_COMPACT = _c(
    rf"(?<![{_D}十百千万0-9点])一[四五六七八九][{_D}](?![{_D}十百千万点0-9]){_NOT_OTHER}"
)
_H_BUILD = _c(rf"({_NUM}){_S}(?:cm|厘米|公分)?{_S}的?{_S}(?:个子|个头|高个)")
_H_KW = _c(
    rf"(?:身高|个子|个头|身长|(?<![最提升增加太很更较比跟])高){_FILL}({_NUM})"
    rf"(?:{_S}(cm|厘米|公分|米|m(?![a-z])))?{_NOT_OTHER}"
)

_W_UNIT = _c(rf"({_NUM}){_S}(?:多|来|几|余)?{_S}(市斤|斤|jin(?![a-z])|kg|公斤|千克)(?!装)")
_W_KW = _c(rf"(?:体重|(?<![净毛])重(?!量)){_FILL}({_NUM}){_S}(?:多|来|几)?{_NOT_OTHER}")
_W_NOT_PERSON = _c(r"(?:净重|毛重|重量|箱|包裹|快递|寄|装|每)[^,.;!?]{0,3}$")

_BARE = _c(
    r"(?:(?<![0-9.a-z¥$#第满减共买花付送])([0-9]{2,3}(?:\.[0-9])?|[12]\.[0-9]{1,2})(?![0-9.])"
    rf"|(?<![{_D}十百千万第])({CN_NUM_RE})){_NOT_OTHER}"
)
_PAIR_SEP = _c(r"\s{0,3}(?:[/,、|+~\\]|和|\s)\s{0,3}")
_TWO_NUMBERS = _c(r"[0-9]\s{0,3}(?:[/,、|+~\\]|和|\s)\s{0,3}[0-9]")

_SIZE = _c(r"(?<![a-z0-9.'])(?:([2-6])\s?xl|(x{1,5})l|xs|s|m|l)(?![a-z0-9])")
_SIZE_HINT = _c(r"[smlx]")
_CN_HINT = re.compile(rf"[{_D}十百千万]")
_DIGIT = re.compile(r"[0-9]")


def _any(*words: str) -> re.Pattern[str]:
    """One regex for "any of these words"; sre scans its first-character set in C."""
    return _c("|".join(re.escape(w) for w in words))


_HINT_ORDER_PH = _any("[orderid_")
_HINT_ORDER_KW = _any("单", "编号")
_HINT_MONEY_PREFIX = _any("¥", "$", "rmb", "人民币")
_HINT_MONEY_UNIT = _any("块", "元", "rmb", "人民币", "圆")
_HINT_MONEY_KW = _any(*_MONEY_WORDS)
_HINT_SHOE = _any(*_SHOE_WORDS)
_HINT_CLOTHES = _any(*_CLOTHES_WORDS)
_HINT_EU = _any("eu", "欧码", "国码")
_HINT_CODE = _any("码", "号")
_HINT_SHOE_KW = _any("鞋", "靴")
_HINT_METRE = _any("米", "m")
_HINT_CM = _any("cm", "厘米", "公分")
_HINT_KW = _any("高", "个", "身长")
_HINT_WEIGHT = _any("斤", "jin", "kg", "公斤", "千克")


class _Scan:
    """State of one extract() call: folded text, cheap hints, claimed characters, results."""

    __slots__ = ("claimed", "cn", "digits", "found", "orig", "s")

    def __init__(self, orig: str) -> None:
        self.orig = orig
        self.s = fold(orig)
        self.digits = _DIGIT.search(self.s) is not None
        self.cn = _CN_HINT.search(self.s) is not None
        self.claimed = bytearray(len(orig))
        self.found: list[Entity] = []

    def free(self, start: int, end: int) -> bool:
        return end > start and not any(self.claimed[start:end])

    def add(self, kind: EntityKind, value: float | int | str, start: int, end: int) -> bool:
        """Record an entity if its span is still free; returns whether it was taken."""
        if not self.free(start, end):
            return False
        self.claimed[start:end] = b"\x01" * (end - start)
        self.found.append(Entity(kind, value, self.orig[start:end], start, end))
        return True

    def has(self, hint: str | re.Pattern[str]) -> bool:
        """Cheap pre-test: a single character via ``in``, several words via one regex."""
        return hint in self.s if isinstance(hint, str) else hint.search(self.s) is not None

    def scan(self, pat: re.Pattern[str], hint: str | re.Pattern[str]) -> Iterator[re.Match[str]]:
        """Matches of ``pat``, skipping the regex entirely when the hint is absent."""
        return pat.finditer(self.s) if self.has(hint) else iter(())


def _num(m: re.Match[str], group: int = 1) -> float | None:
    tok = m.group(group)
    return parse_num(tok) if tok else None


def _span(m: re.Match[str], group: int = 0) -> tuple[int, int]:
    return m.start(group), m.end(group)


def _jin(v: float, kg: bool) -> int | float:
    """Weights are kept in 斤, the unit Chinese shoppers and size charts use."""
    return as_number(v * 2 if kg else v)


def _orders_and_phones(sc: _Scan) -> None:
    for m in sc.scan(_ORDER_PH, _HINT_ORDER_PH):
        sc.add("order_id", m.group(1), *_span(m))
    for m in sc.scan(_ORDER_PH_CN, "[订单"):
        sc.add("order_id", m.group(0), *_span(m))
    if not sc.digits:
        return
    for m in sc.scan(_PHONE, _PHONE_HINT):
        digits = "".join(c for c in m.group(0) if c.isdigit())[-11:]
        sc.add("phone", digits, *_span(m))
    if _SIX_DIGITS.search(sc.s) is None:
        return
    for m in sc.scan(_ORDER_KW, _HINT_ORDER_KW):
        sc.add("order_id", m.group(1), *_span(m, 1))
    for m in _ORDER_BARE.finditer(sc.s):
        sc.add("order_id", m.group(0), *_span(m))


def _money(sc: _Scan) -> None:
    for m in sc.scan(_MONEY_PREFIX, _HINT_MONEY_PREFIX):
        v = _num(m)
        if v is not None:
            sc.add("money", float(v), *_span(m))
    for m in sc.scan(_MONEY_UNIT, _HINT_MONEY_UNIT):
        v = _num(m)
        if v is not None:
            jiao = m.group(2)
            sc.add("money", float(v) + (int(jiao) / 10 if jiao else 0.0), *_span(m))
    for m in sc.scan(_MONEY_WAN, "万"):
        v = parse_num(m.group(0))
        if v is not None:
            sc.add("money", float(v), *_span(m))
    for m in sc.scan(_MONEY_KW, _HINT_MONEY_KW):
        v = _num(m)
        if v is not None and 0 < v < 10_000_000:
            sc.add("money", float(v), *_span(m, 1))


def _waist(sc: _Scan) -> None:
    for m in sc.scan(_WAIST_CHI, "尺"):
        head = m.group(1)
        feet = float(head) if "." in head else float(digits_value(head) or 0)
        if m.group(2):
            feet += (digits_value(m.group(2)) or 0) / 10
        if 1.5 <= feet <= 4.0:
            sc.add("waist", round(feet * 100 / 3), *_span(m))  # 1 尺 = 1/3 m
    for m in sc.scan(_WAIST_KW, "腰"):
        v, unit = _num(m), (m.group(2) or "").lower()
        if v is None:
            continue
        if unit in ("英寸", "inch", "寸") or (not unit and 20 <= v <= 45):
            cm = v * 2.54  # "腰围28" / "28寸" in a jeans chat means inches
        elif not unit and v < 5:
            cm = v * 100 / 3  # bare 尺: 腰围2.1
        else:
            cm = v
        if 40 <= cm <= 160:
            sc.add("waist", round(cm), m.start(1), m.end())


def _feet(sc: _Scan, shoe_ctx: bool) -> None:
    for m in sc.scan(_FOOT_KW, "脚"):
        v, unit = _num(m), (m.group(2) or "").lower()
        if v is None:
            continue
        mm = v if unit in ("mm", "毫米") or (not unit and v >= 100) else v * 10
        if 100 <= mm <= 350:
            sc.add("foot_length", round(mm), m.start(1), m.end())
    if shoe_ctx:
        for m in _FOOT_UNIT.finditer(sc.s):
            v = float(m.group(1))
            mm = v if m.group(2).lower() in ("mm", "毫米") else v * 10
            if 180 <= mm <= 320:
                sc.add("foot_length", round(mm), *_span(m))


def _shoes(sc: _Scan) -> None:
    shoe_ctx = sc.has(_HINT_SHOE)
    _feet(sc, shoe_ctx)

    def shoe(m: re.Match[str], half: str | None = None, group: int = 0) -> None:
        v = _num(m)
        if v is not None:
            v += 0.5 if half else 0.0
            if 34 <= v <= 48 and (v * 2).is_integer():
                sc.add("shoe_size", as_number(v), *_span(m, group))

    for m in sc.scan(_SHOE_EU, _HINT_EU):
        shoe(m)
    if shoe_ctx:
        for m in _SHOE_BEFORE_SHOE.finditer(sc.s):
            shoe(m, m.group(2))
    clothes_ctx = sc.has(_HINT_CLOTHES)
    for m in sc.scan(_SHOE_CODE, _HINT_CODE):
        if shoe_ctx or (m.group(2) == "码" and not clothes_ctx):
            shoe(m, m.group(3))
    if shoe_ctx:
        for m in sc.scan(_SHOE_KW, _HINT_SHOE_KW):
            shoe(m, group=1)
        for m in sc.scan(_SHOE_WEAR, "穿"):
            shoe(m, group=1)
        for m in _SHOE_BARE.finditer(sc.s):  # "这双鞋有38的吗"
            shoe(m, group=1)


def _height(sc: _Scan) -> None:
    for m in sc.scan(_H_METRE_COMPOUND, _HINT_METRE):
        rest = m.group(1)
        cm = digits_value(rest)
        if cm is not None:
            sc.add("height", 100 + (cm * 10 if len(rest) == 1 else cm), *_span(m))
    if sc.digits:
        for m in sc.scan(_H_METRE_DECIMAL, _HINT_METRE):
            cm = round(float(m.group(1)) * 100)
            if 100 <= cm <= 230:
                sc.add("height", cm, *_span(m))
    for m in sc.scan(_H_CM, _HINT_CM):
        v = _num(m)
        window = sc.s[max(0, m.start() - 4) : m.start()]
        body = "身" in window or not (_GARMENT_CHARS & set(window))
        if v is not None and 90 <= v <= 230 and body:
            sc.add("height", round(v), *_span(m))
    if sc.cn:
        for m in sc.scan(_H_COMPACT, "一"):
            sc.add("height", digits_value(m.group(0)) or 0, *_span(m))
    for pat, hint in ((_H_BUILD, "个"), (_H_KW, _HINT_KW)):
        for m in sc.scan(pat, hint):
            v = _num(m)
            if v is None:
                continue
            unit = m.group(2) if pat is _H_KW else None
            if v < 3 and ("." in m.group(1) or (unit or "").lower() in ("米", "m")):
                v *= 100  # 身高1.75 / 身高1.7米
            if 45 <= v <= 230:
                sc.add("height", round(v), m.start(1), m.end(2) if unit else m.end(1))


def _unitless_jin(v: float, height_cm: float | None) -> int | float:
    """Weight typed without a unit.  Shop convention: under 100 means kg, else 斤; but when
    the height is known, take whichever reading gives the more ordinary BMI, because a
    160 cm shopper writing "160 90" means 90 斤, not 90 kg."""
    if v >= 100:
        return as_number(v)
    if height_cm:
        m2 = (height_cm / 100) ** 2
        if abs(v / 2 / m2 - 21.5) < abs(v / m2 - 21.5):
            return as_number(v)
    return as_number(v * 2)


def _known_height(sc: _Scan) -> float | None:
    heights = [e.value for e in sc.found if e.kind == "height"]
    return float(heights[-1]) if heights and isinstance(heights[-1], int | float) else None


def _weight(sc: _Scan) -> None:
    for m in sc.scan(_W_UNIT, _HINT_WEIGHT):
        v = _num(m)
        if v is None or _W_NOT_PERSON.search(sc.s, max(0, m.start() - 6), m.start()):
            continue
        jin = _jin(v, m.group(2).lower() in ("kg", "公斤", "千克"))
        if 10 <= jin <= 500:
            sc.add("weight", jin, *_span(m))
    for m in sc.scan(_W_KW, "重"):
        v = _num(m)
        if v is not None:
            jin = _unitless_jin(v, _known_height(sc))  # 体重65 → kg, 体重130 → 斤
            if 20 <= jin <= 500:
                sc.add("weight", jin, *_span(m, 1))


def _bare_height(v: float, decimal: bool) -> int | None:
    v = v * 100 if decimal and v < 3 else v  # "1.75 130斤"
    return round(v) if 140 <= v <= 210 else None


def _bare_weight(v: float, decimal: bool, height_cm: float | None) -> int | float | None:
    if decimal and v < 3:
        return None
    jin = _unitless_jin(v, height_cm)
    return jin if 60 <= jin <= 400 else None


@dataclass(slots=True)
class _Tok:
    """A height/weight already found, or a bare number that may turn out to be one."""

    start: int
    end: int
    kind: str  # "height", "weight" or "bare"
    value: float
    decimal: bool = False


def _bare_tokens(sc: _Scan) -> list[_Tok]:
    toks = [
        _Tok(e.start, e.end, e.kind, float(e.value))
        for e in sc.found
        if e.kind in ("height", "weight") and isinstance(e.value, int | float)
    ]
    for m in _BARE.finditer(sc.s):
        g = m.lastindex or 1
        v = parse_num(m.group(g))
        if v is not None and sc.free(*_span(m, g)):
            toks.append(_Tok(m.start(g), m.end(g), "bare", v, "." in m.group(g)))
    toks.sort(key=lambda t: t.start)
    return toks


def _pairs(sc: _Scan) -> None:
    """Give bare numbers a meaning when they sit next to a height/weight: "170 130斤"."""
    if not any(e.kind in ("height", "weight") for e in sc.found) and (
        not sc.digits or _TWO_NUMBERS.search(sc.s) is None
    ):
        return
    toks = _bare_tokens(sc)
    for a, b in itertools.pairwise(toks):
        if _PAIR_SEP.fullmatch(sc.s, a.end, b.start) is None:
            continue
        if a.kind == "bare" and b.kind in ("weight", "bare"):
            h = _bare_height(a.value, a.decimal)
            ok = b.kind == "weight" or _bare_weight(b.value, b.decimal, h) is not None
            if h is not None and ok and sc.add("height", h, a.start, a.end):
                a.kind, a.value = "height", h
        if a.kind == "height" and b.kind == "bare":
            w = _bare_weight(b.value, b.decimal, a.value)
            if w is not None and sc.add("weight", w, b.start, b.end):
                b.kind, b.value = "weight", w
        elif a.kind == "weight" and b.kind == "bare":
            h = _bare_height(b.value, b.decimal)
            if h is not None and sc.add("height", h, b.start, b.end):
                b.kind, b.value = "height", h
    # "我170 体重120多斤": not adjacent, but the one height-like number beside a weight
    kinds = {t.kind for t in toks}
    if "weight" in kinds and "height" not in kinds:
        lone = [
            (t, h)
            for t in toks
            if t.kind == "bare" and (h := _bare_height(t.value, t.decimal)) is not None
        ]
        if len(lone) == 1:
            t, h = lone[0]
            sc.add("height", h, t.start, t.end)


def _sizes(sc: _Scan) -> None:
    if _SIZE_HINT.search(sc.s) is None:
        return
    for m in _SIZE.finditer(sc.s):
        if m.group(1):
            label = f"{m.group(1)}XL"
        elif m.group(2):
            label = "XL" if len(m.group(2)) == 1 else f"{len(m.group(2))}XL"
        else:
            label = m.group(0).upper()
        sc.add("size", label, *_span(m))


_STAGES: tuple[Callable[[_Scan], None], ...] = (
    _orders_and_phones,
    _money,
    _waist,
    _shoes,
    _height,
    _weight,
    _pairs,
    _sizes,
)


def extract(text: str) -> list[Entity]:
    """All entities in the text, in order of position, non-overlapping.

    Never raises, whatever the input (binary junk, huge strings): the bot must keep answering
    when a rule misfires, so an unexpected error is logged and what was found so far returned.
    """
    if not isinstance(text, str) or not text:
        return []
    sc = _Scan(text)
    if not (sc.digits or sc.cn or _SIZE_HINT.search(sc.s) or "[" in sc.s):
        return []
    try:
        for stage in _STAGES:
            stage(sc)
    except Exception:  # never let a rule take the conversation down; tests watch this log
        _log.exception("entity extraction failed on %r", text[:200])
    return sorted(sc.found, key=lambda e: e.start)


def slots_from(entities: Sequence[Entity]) -> dict[str, float | int | str]:
    """Collapse entities to slot values for the dialogue state; the last mention wins."""
    return {e.kind: e.value for e in entities}


def _mask_digits(chars: list[str], e: Entity, keep: Callable[[int, int], bool]) -> None:
    positions = [i for i in range(e.start, e.end) if chars[i].isdigit()]
    for n, i in enumerate(positions):
        if not keep(n, len(positions)):
            chars[i] = "*"


def mask_pii(text: str) -> str:
    """Mask phones (138****5678) and order numbers (last 4 digits kept) so transcripts can be
    logged and shown to other agents without leaking a customer's identifiers."""
    if not isinstance(text, str) or not text:
        return text
    # Only phones and order numbers are masked, and extract() finds them in its first stage,
    # before any other kind can claim their characters: running that stage alone gives the
    # same spans. Most lines (every bot reply without a number) stop at the digit check:
    # only digits are ever masked.
    sc = _Scan(text)
    if not sc.digits:
        return text
    try:
        _orders_and_phones(sc)
    except Exception:  # as in extract(): a misfiring rule must not take a reply down
        _log.exception("order/phone scan failed on %r", text[:200])
    chars = list(text)
    for e in sc.found:
        if e.kind == "phone":  # the last 11 digits are the number; hide digits 4–7 of it
            _mask_digits(chars, e, lambda n, total: not total - 8 <= n < total - 4)
        elif e.kind == "order_id":
            _mask_digits(chars, e, lambda n, total: n >= total - 4)
    return "".join(chars)
