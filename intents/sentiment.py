"""Anger / sentiment scorer for shopper messages.

A transparent lexicon-and-rules model (no training): the handoff rules need to explain
*why* a conversation was escalated, so every contribution is reported as a signal such as
``"insult:骗子"`` or ``"exclaim:!!!"``. The lexicon lives in ``intents/data/anger_lexicon.yaml``
so that it can be reviewed and extended without touching code.

Pipeline per call (kept cheap: one trie-shaped regex scan plus one combined rule regex,
no tokeniser):

1. normalise: full-width -> half-width, Traditional -> Simplified (OpenCC t2s), lower-case;
2. lexicon scan: longest match at each position, negation and question damping;
3. rules: ``!!!``/``???`` runs, 啊啊啊, stretched characters, shouting caps, counted
   impatience (催了3次, 等了5天) and latin profanity;
4. repetition: the same question already in ``history`` (character-bigram Jaccard);
5. combine: per-category sums with decay, politeness scaling, ``anger = 1 - exp(-raw)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import opencc
import yaml

from intents.trie import trie_regex

__all__ = ["ANGRY", "Sentiment", "score"]

ANGRY = 0.6
"""Anger at or above this counts as 情绪激动 for the handoff rules."""


@dataclass(frozen=True, slots=True)
class Sentiment:
    """Result of :func:`score`; ``signals`` say which evidence produced the numbers."""

    anger: float  # 0.0 (calm) .. 1.0 (furious)
    polarity: float  # -1.0 (negative) .. 1.0 (positive)
    signals: tuple[str, ...]  # why, e.g. ("insult:骗子", "threat:差评", "exclaim:!!!", "repeat")


# --------------------------------------------------------------------------- tuning knobs
# Kept in code (not YAML) because they shape the model rather than list vocabulary.

_DECAY = 0.6  # each further hit in the same category counts 0.6x the previous one
_MAX_POLITE = 0.45  # politeness can take away at most 45% of the raw anger
_REPEAT_FIRST = 0.6  # the same question asked once before
_REPEAT_MORE = 0.3  # each further earlier copy
_REPEAT_CAP = 1.2
_REPEAT_JACCARD = 0.6
_REPEAT_MIN_CHARS = 3  # "好的" / "嗯" repeated is not impatience
_HISTORY_SCAN = 20  # only the most recent earlier messages are compared
_MAX_SCAN_CHARS = 2000  # longer messages: score head and tail only (a rant is angry early)
# Intensity (!!!, 啊啊啊, caps) amplifies whatever the words say: full weight next to
# negative words, a little on its own (???), almost nothing next to praise (太棒了!!!).
_INTENSITY_WITH_NEGATIVE = 1.0
_INTENSITY_ALONE = 0.6
_INTENSITY_WITH_POSITIVE = 0.15

_ROLE_ANGER = "anger"
_ROLE_POLITE = "polite"
_ROLE_POSITIVE = "positive"
_ROLE_NEUTRAL = "neutral"
_ROLES = {_ROLE_ANGER, _ROLE_POLITE, _ROLE_POSITIVE, _ROLE_NEUTRAL}

# Full-width ASCII (U+FF01..U+FF5E) and the ideographic space -> half-width, plus a few
# CJK punctuation marks that shoppers use as exclamation/question marks.
_HALF_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_HALF_WIDTH.update({0x3000: 0x20, 0xFE57: 0x21, 0xFE56: 0x3F, 0x203C: 0x21, 0x2049: 0x21})
_HALF_WIDTH.update({0x2047: 0x3F, 0x2048: 0x3F})

_T2S = opencc.OpenCC("t2s")  # built once: constructing a converter loads dictionaries


@dataclass(frozen=True, slots=True)
class _Term:
    """One lexicon entry as the scanner needs it."""

    category: str
    role: str
    weight: float
    negatable: bool
    damp_questions: bool


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """Everything compiled from the YAML file, built once at import."""

    terms: dict[str, _Term]
    scan: re.Pattern[str] | None
    negation_tail: re.Pattern[str] | None
    rhetorical: tuple[str, ...]
    question_particles: frozenset[str]
    question_damping: float
    patterns: dict[str, tuple[str, str, float]]  # group name -> (category, label, weight)
    pattern_scan: re.Pattern[str] | None


# --------------------------------------------------------------------------- normalising


def _normalise(text: str) -> str:
    """Half-width, Simplified text so one lexicon covers 繁體 and full-width input."""
    text = text.translate(_HALF_WIDTH)
    if text.isascii():
        return text
    try:
        return str(_T2S.convert(text))
    except (UnicodeError, ValueError, TypeError):
        # Lone surrogates or other junk OpenCC cannot encode: drop them and retry once.
        cleaned = text.encode("utf-8", "ignore").decode("utf-8", "ignore")
        try:
            return str(_T2S.convert(cleaned))
        except (UnicodeError, ValueError, TypeError):
            return cleaned


# --------------------------------------------------------------------------- lexicon load


def _as_str_list(value: object, where: str) -> list[str]:
    """Validate a YAML list of strings; a broken lexicon should fail loudly at import."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise ValueError(f"anger lexicon: {where} must be a list of strings")
    return [str(v) for v in value]


def _lex_key(term: str) -> str:
    """Lexicon terms go through the same normalisation as the input text."""
    return _normalise(str(term)).lower().strip()


def _build_lexicon(raw: Mapping[str, Any]) -> _Lexicon:
    """Compile the parsed YAML into lookup tables and regexes."""
    terms: dict[str, _Term] = {}
    categories = raw.get("categories") or {}
    if not isinstance(categories, Mapping):
        raise ValueError("anger lexicon: 'categories' must be a mapping")
    for cat, spec in categories.items():
        if not isinstance(spec, Mapping):
            raise ValueError(f"anger lexicon: category {cat!r} must be a mapping")
        role = str(spec.get("role", _ROLE_ANGER))
        if role not in _ROLES:
            raise ValueError(f"anger lexicon: category {cat!r} has unknown role {role!r}")
        negatable = bool(spec.get("negatable", False))
        damp = bool(spec.get("damp_questions", False))
        entries = spec.get("terms") or {}
        if not isinstance(entries, Mapping):
            raise ValueError(f"anger lexicon: terms of {cat!r} must be a mapping")
        for word, weight in entries.items():
            key = _lex_key(str(word))
            if not key:
                continue
            if key in terms:  # first category wins; keeps the file order meaningful
                continue
            terms[key] = _Term(str(cat), role, float(weight), negatable, damp)

    neg = raw.get("negation") or {}
    negators = _as_str_list(neg.get("negators"), "negation.negators")
    fillers = _as_str_list(neg.get("fillers"), "negation.fillers")
    negation_tail = None
    if negators:
        alt_neg = "|".join(re.escape(w) for w in sorted(negators, key=len, reverse=True))
        alt_fill = "|".join(re.escape(w) for w in sorted(fillers, key=len, reverse=True))
        fill = f"(?:{alt_fill}){{0,2}}" if fillers else ""
        negation_tail = re.compile(f"(?:{alt_neg}){fill}$")

    patterns: dict[str, tuple[str, str, float]] = {}
    parts: list[str] = []
    for i, pat in enumerate(raw.get("patterns") or []):
        if not isinstance(pat, Mapping) or "regex" not in pat:
            raise ValueError(f"anger lexicon: pattern #{i} needs a regex")
        group = f"p{i}"
        regex = str(pat["regex"])
        re.compile(regex)  # fail at import with the offending pattern, not mid-conversation
        parts.append(f"(?P<{group}>{regex})")
        patterns[group] = (
            str(pat.get("category", "impatience")),
            str(pat.get("label", pat.get("name", group))),
            float(pat.get("weight", 0.3)),
        )

    return _Lexicon(
        terms=terms,
        scan=trie_regex(terms),
        negation_tail=negation_tail,
        rhetorical=tuple(_as_str_list(neg.get("rhetorical"), "negation.rhetorical")),
        question_particles=frozenset(
            _as_str_list(raw.get("question_particles"), "question_particles")
        ),
        question_damping=float(raw.get("question_damping", 0.5)),
        patterns=patterns,
        pattern_scan=re.compile("|".join(parts)) if parts else None,
    )


def _load_lexicon() -> _Lexicon:
    """Read the packaged YAML via importlib.resources (works from a wheel or a zip)."""
    text = resources.files("intents.data").joinpath("anger_lexicon.yaml").read_text("utf-8")
    data = yaml.safe_load(text) or {}
    if not isinstance(data, Mapping):
        raise ValueError("anger lexicon: top level must be a mapping")
    return _build_lexicon(data)


_LEX = _load_lexicon()

# --------------------------------------------------------------------------- rules in code

# One combined regex for the intensity rules (runs on the normalised, lower-cased text).
_INTENSITY = re.compile(
    r"(?P<punct>[!?]{2,})"
    r"|(?P<bang>!)"
    r"|(?P<ah>[啊呀哎唉嗷]{3,})"
    # The same CJK character 3+ times (快快快), except laughter / thanks / 'en'.
    r"|(?P<stretch>(?P<ch>[\u4e00-\u9fff])(?<![哈呵嘿嘻嗯哦噢谢啦])(?P=ch){2,})"
    # A CJK pair repeated (快点快点)
    r"|(?P<pair>(?P<two>[\u4e00-\u9fff]{2})(?P=two)+)"
)
_CAPS = re.compile(r"(?<![A-Za-z])[A-Z]{4,}(?![A-Za-z])")
_UPPER = re.compile(r"[A-Z]")
_SIZE_TOKEN = re.compile(r"[XLSM]+")
_NON_KEY = re.compile(r"[^\u4e00-\u9fffa-z0-9]+")
_DIGITS = frozenset("0123456789")


def _emit(
    buckets: dict[str, list[float]], signals: list[str], category: str, label: str, w: float
) -> None:
    """Record one contribution and its signal (signals deduplicated, order kept)."""
    buckets.setdefault(category, []).append(w)
    sig = f"{category}:{label}" if label else category
    if sig not in signals:
        signals.append(sig)


def _decayed(values: list[float]) -> float:
    """Sum with geometric decay: one strong word decides, more of the same only nudge."""
    if len(values) == 1:
        return values[0]
    total, factor = 0.0, 1.0
    for v in sorted(values, reverse=True):
        total += v * factor
        factor *= _DECAY
    return total


def _is_negated(text: str, start: int) -> bool:
    """True when a negator (plus up to two fillers) sits right before ``start``."""
    tail = _LEX.negation_tail
    if tail is None or start == 0:
        return False
    m = tail.search(text, max(0, start - 6), start)
    if m is None:
        return False
    p = m.start()
    # A-not-A question (是不是骗人, 有没有搞错): the same character on both sides of 不/没.
    return not (p > 0 and p + 1 < len(text) and text[p - 1] == text[p + 1])


def _is_rhetorical(text: str, end: int) -> bool:
    """不是骗子是什么: the negation is rhetorical, the accusation stands."""
    after = text[end : end + 4]
    return any(after.startswith(r) for r in _LEX.rhetorical)


def _is_question(text: str, end: int) -> bool:
    """是假货吗 / 不会是假的吧: a doubt, not yet an accusation."""
    after = text[end : end + 2]
    return any(ch in _LEX.question_particles for ch in after)


def _bigrams(key: str) -> frozenset[str]:
    """Character 2-grams; a single character is its own gram so it can still match."""
    if len(key) < 2:
        return frozenset((key,)) if key else frozenset()
    return frozenset(key[i : i + 2] for i in range(len(key) - 1))


@lru_cache(maxsize=8192)
def _key_grams(text: str) -> tuple[str, frozenset[str]]:
    """Comparable form of a message for the repetition check (cached: history repeats)."""
    key = _NON_KEY.sub("", _normalise(text).lower())
    return key, _bigrams(key)


def _repeat_count(grams: frozenset[str], history: Sequence[str]) -> int:
    """How many recent earlier messages ask (nearly) the same thing."""
    if not grams:
        return 0
    count = 0
    mine = len(grams)
    # Jaccard >= J needs the smaller set to hold at least J of the larger one: most lines
    # are ruled out by size before any set work.
    low, high = mine * _REPEAT_JACCARD, mine / _REPEAT_JACCARD
    for old in list(history)[-_HISTORY_SCAN:]:
        if not isinstance(old, str) or not old:
            continue
        _, old_grams = _key_grams(old[:_MAX_SCAN_CHARS])
        theirs = len(old_grams)
        if not low <= theirs <= high:
            continue
        inter = len(grams & old_grams)
        if inter and inter / (mine + theirs - inter) >= _REPEAT_JACCARD:
            count += 1
    return count


def _clip(x: float, lo: float, hi: float) -> float:
    """Clamp, also mapping NaN to ``lo`` so callers never see NaN."""
    if not x > lo:
        return lo
    return hi if x > hi else x


# --------------------------------------------------------------------------- scoring


def _score(text: str, history: Sequence[str]) -> Sentiment:
    """The actual scorer; :func:`score` wraps it so that nothing ever escapes."""
    if len(text) > _MAX_SCAN_CHARS:
        half = _MAX_SCAN_CHARS // 2
        text = text[:half] + "\n" + text[-half:]
    norm = _normalise(text)
    low = norm.lower()

    anger: dict[str, list[float]] = {}
    intensity: dict[str, list[float]] = {}
    signals: list[str] = []
    polite = 0.0
    positive = 0.0

    # 1. lexicon: longest match at each position.
    scan = _LEX.scan
    if scan is not None:
        terms = _LEX.terms
        for m in scan.finditer(low):
            word = m.group()
            term = terms.get(word)
            if term is None or term.role == _ROLE_NEUTRAL:
                continue
            start, end = m.span()
            if word[0] in _DIGITS and (
                (start and low[start - 1] in _DIGITS) or (end < len(low) and low[end] in _DIGITS)
            ):
                continue  # 315 inside an order or phone number is not a threat
            if term.negatable and _is_negated(low, start) and not _is_rhetorical(low, end):
                if term.role == _ROLE_POSITIVE:  # 不满意 not in the list: weak complaint
                    _emit(anger, signals, "product", "不" + word, min(0.3, term.weight))
                elif term.role == _ROLE_ANGER:
                    sig = f"negated:{word}"
                    if sig not in signals:
                        signals.append(sig)
                continue
            if term.role == _ROLE_POLITE:
                polite += term.weight
                sig = f"polite:{word}"
                if sig not in signals:
                    signals.append(sig)
            elif term.role == _ROLE_POSITIVE:
                positive += term.weight
                sig = f"positive:{word}"
                if sig not in signals:
                    signals.append(sig)
            else:
                w = term.weight
                if term.damp_questions and _is_question(low, end):
                    w *= _LEX.question_damping
                _emit(anger, signals, term.category, word, w)

    # 2. rules from the YAML (counted impatience, latin profanity).
    pscan = _LEX.pattern_scan
    if pscan is not None:
        for m in pscan.finditer(low):
            group = m.lastgroup
            if group is None:
                continue
            category, label, weight = _LEX.patterns[group]
            _emit(anger, signals, category, label, weight)

    # 3. intensity rules.
    bangs = 0
    for m in _INTENSITY.finditer(low):
        kind = m.lastgroup
        if kind == "punct":
            run = m.group()
            n = len(run)
            w = 0.3 if n == 2 else 0.45 if n == 3 else 0.6
            _emit(intensity, signals, "exclaim", run[:5], w)
        elif kind == "bang":
            bangs += 1
        elif kind == "ah":
            _emit(intensity, signals, "intensity", m.group()[:5], 0.35)
        elif kind in ("stretch", "pair"):
            _emit(intensity, signals, "stretch", m.group()[:6], 0.25)
    if bangs:
        _emit(intensity, signals, "exclaim", "!", 0.1 if bangs == 1 else 0.2)
    if _UPPER.search(norm):  # most lines have no capitals: skip the costlier scan
        for m in _CAPS.finditer(norm):
            if not _SIZE_TOKEN.fullmatch(m.group()):
                _emit(intensity, signals, "caps", m.group()[:12], 0.2)
                break

    # 4. repetition against the shopper's earlier messages.
    if history:
        key, grams = _key_grams(text)
        quiet_praise = (polite or positive) and not anger
        if len(key) >= _REPEAT_MIN_CHARS and not quiet_praise:
            n = _repeat_count(grams, history)
            if n:
                w = min(_REPEAT_CAP, _REPEAT_FIRST + _REPEAT_MORE * (n - 1))
                anger.setdefault("repeat", []).append(w)
                signals.append("repeat" if n == 1 else f"repeat:x{n}")

    # 5. combine (most lines emitted nothing: every contribution records a signal).
    if not signals:
        return _CALM
    lexical = sum(_decayed(v) for k, v in anger.items() if k != "repeat")
    repeat = sum(anger.get("repeat", ()))
    amp = sum(_decayed(v) for v in intensity.values())
    if lexical > 0 or repeat > 0:
        amp *= _INTENSITY_WITH_NEGATIVE
    elif positive > 0:
        amp *= _INTENSITY_WITH_POSITIVE
    else:
        amp *= _INTENSITY_ALONE
    raw = lexical + repeat + amp
    if polite:
        raw *= 1.0 - min(_MAX_POLITE, polite)
    anger_value = _clip(1.0 - math.exp(-raw), 0.0, 1.0)

    negative = lexical + 0.5 * repeat + (0.3 * amp if lexical else 0.0)
    pos = positive + 0.5 * polite
    polarity = _clip(math.tanh(pos - negative), -1.0, 1.0) if (pos or negative) else 0.0
    return Sentiment(round(anger_value, 4), round(polarity, 4), tuple(signals))


_CALM = Sentiment(0.0, 0.0, ())


def score(text: str, history: Sequence[str] = ()) -> Sentiment:
    """Score one shopper message; ``history`` = earlier shopper messages, oldest first.

    Never raises: the bot calls this on every incoming message, and a crash here would
    drop the message, so anything unexpected degrades to "calm" with an ``error`` signal.
    """
    try:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if not text:
            return _CALM
        if isinstance(history, str):  # a bare string would be iterated per character
            history = (history,)
        return _score(text, history or ())
    except Exception:  # the contract is "never raise"; see docstring
        return Sentiment(0.0, 0.0, ("error",))
