"""Size charts (尺码表) and the sizing advisor.

Charts are plain YAML files in ``library/size_charts`` so a shop manager can edit them without
a developer; the models below validate them and say which file and field is wrong. The advisor
is a set of pure functions: it places the shopper's height and weight (or foot length) on a
chart and returns an :class:`Advice` whose ``reason_key`` is a machine-readable key. The words
the bot says to shoppers live in the script library, never here.

How a measurement lands on a chart (per dimension: height cm, weight 斤, foot length mm):

* inside exactly one row's ``[low, high]`` (both ends inclusive): that size;
* where two neighbouring rows overlap, or in the small gap between them: between the two sizes
  (the advisor recommends the larger one, because a garment that is too small cannot be worn);
* at most :data:`TOLERANCE` below the first row or above the last: that end size, borderline;
* further out: outside the chart, and the bot hands the chat to a human.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

Fit = Literal["loose", "regular", "slim"]  # 宽松 / 标准 / 修身
Kind = Literal["clothing", "shoes"]
Status = Literal["ok", "borderline", "out_of_chart", "missing"]
Dimension = Literal["height", "weight", "foot_length"]

#: The charts shipped with kefu.
CHART_DIR = Path(__file__).resolve().parent / "library" / "size_charts"

#: How far past the first/last row a value may be and still get that end size (borderline).
#: Gaps between neighbouring rows may be at most twice this, so every gap value is near a row.
TOLERANCE: Mapping[Dimension, float] = {"height": 2.0, "weight": 4.0, "foot_length": 3.0}

#: Every ``Advice.reason_key``; the script library keys its wording on these.
REASON_KEYS = frozenset(
    {
        "height_and_weight",  # ok: height and weight point at the same size
        "weight_dominates",  # borderline: weight says the larger of two adjacent sizes
        "height_dominates",  # borderline: height says the larger of two adjacent sizes
        "between_sizes",  # borderline: a value sits between two sizes
        "edge_of_chart",  # borderline: just past the smallest or largest size
        "far_apart",  # out_of_chart: height and weight are more than one size apart
        "too_small",  # out_of_chart: below the chart
        "too_large",  # out_of_chart: above the chart
        "foot_length",  # ok: shoes by foot length
        "shoe_size",  # ok: shoes converted from the shopper's usual size
        "needs_measurements",  # missing: ask for what ``Advice.missing`` names
        "unknown_shoe_size",  # missing: could not read the usual size; ask for foot length
    }
)

_DIMENSIONS: Mapping[Kind, tuple[Dimension, ...]] = {
    "clothing": ("height", "weight"),
    "shoes": ("foot_length",),
}
_ALL_DIMENSIONS: tuple[Dimension, ...] = ("height", "weight", "foot_length")
_MAX_OFFSET = 2


# --------------------------------------------------------------------------- models


def _as_pair(value: Any) -> Any:
    """Accept ``[low, high]`` only, so a manager's typo gets one clear message."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return tuple(value)
    raise ValueError("expected [low, high], for example [160, 167]")


def _check_pair(pair: tuple[float, float]) -> tuple[float, float]:
    low, high = pair
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0:
        raise ValueError("bounds must be positive numbers")
    if low > high:
        raise ValueError(f"low {low:g} is above high {high:g}")
    return pair


#: An inclusive ``[low, high]`` range as written in the YAML.
Range = Annotated[tuple[float, float], BeforeValidator(_as_pair), AfterValidator(_check_pair)]


class ProductRule(BaseModel):
    """A product word that selects a chart; ``offset`` -1 = runs large (one size smaller)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, coerce_numbers_to_str=True
    )

    word: str = Field(min_length=1)
    offset: int = Field(default=0, ge=-_MAX_OFFSET, le=_MAX_OFFSET)


class SizeRow(BaseModel):
    """One size of a chart; clothing rows carry height and weight, shoe rows foot length."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, coerce_numbers_to_str=True
    )

    size: str = Field(min_length=1)
    label: str | None = None
    height: Range | None = None  # cm
    weight: Range | None = None  # 斤
    foot_length: Range | None = None  # mm

    def range_of(self, dim: Dimension) -> tuple[float, float]:
        """The row's range for ``dim``; the chart validator guarantees it exists."""
        value: tuple[float, float] | None = getattr(self, dim)
        if value is None:
            raise KeyError(f"size {self.size!r} has no {dim}")
        return value


class SizeChart(BaseModel):
    """A validated chart; rows go from small to large so neighbours are adjacent sizes."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    kind: Kind
    source: str = Field(min_length=1)
    offset: int = Field(default=0, ge=-_MAX_OFFSET, le=_MAX_OFFSET)
    products: list[ProductRule] = Field(default_factory=list)
    sizes: list[SizeRow] = Field(min_length=1)

    @field_validator("products", mode="before")
    @classmethod
    def _words_to_rules(cls, value: Any) -> Any:
        """Let managers write a bare word for the common case (no offset)."""
        if value is None:
            return []
        if isinstance(value, list):
            return [{"word": item} if isinstance(item, str | int) else item for item in value]
        return value

    @field_validator("products")
    @classmethod
    def _unique_words(cls, rules: list[ProductRule]) -> list[ProductRule]:
        seen: set[str] = set()
        for rule in rules:
            key = _fold(rule.word)
            if key in seen:
                raise ValueError(f"product word {rule.word!r} is listed twice")
            seen.add(key)
        return rules

    @field_validator("sizes")
    @classmethod
    def _check_sizes(cls, rows: list[SizeRow], info: ValidationInfo) -> list[SizeRow]:
        """Catch what would make advice wrong: missing columns, duplicates, wrong order."""
        kind: Kind | None = info.data.get("kind")
        if kind is None:  # kind itself is invalid and already reported
            return rows
        seen: set[str] = set()
        for row in rows:
            if row.size in seen:
                raise ValueError(f"size {row.size!r} is listed twice")
            seen.add(row.size)
        needed = _DIMENSIONS[kind]
        for row in rows:
            for dim in _ALL_DIMENSIONS:
                present = getattr(row, dim) is not None
                if dim in needed and not present:
                    raise ValueError(
                        f"size {row.size!r} has no {dim} (a {kind} chart needs "
                        f"{' and '.join(needed)})"
                    )
                if dim not in needed and present:
                    raise ValueError(
                        f"size {row.size!r} has {dim}, which a {kind} chart does not use"
                    )
        for dim in needed:
            _check_order(rows, dim)
        return rows

    @property
    def dimensions(self) -> tuple[Dimension, ...]:
        """What the advisor needs from the shopper for this chart."""
        return _DIMENSIONS[self.kind]

    def product_words(self) -> list[str]:
        """The product words as written, for callers that check whether a word was said."""
        return [rule.word for rule in self.products]

    def size_names(self) -> list[str]:
        """Sizes from small to large."""
        return [row.size for row in self.sizes]

    def for_product(self, text: str) -> SizeChart:
        """This chart shifted by the offset of the longest product word in ``text``.

        A product that runs large (``offset: -1``) then recommends one size smaller; without a
        matching word, or with offset 0, the chart is returned unchanged.
        """
        match = _best_word(self, _fold(text))
        if match is None or match[0].offset == 0:
            return self
        offset = max(-_MAX_OFFSET, min(_MAX_OFFSET, self.offset + match[0].offset))
        return self.model_copy(update={"offset": offset})


def _check_order(rows: Sequence[SizeRow], dim: Dimension) -> None:
    """Ranges must rise, overlap only their neighbour and leave no gap a shopper falls into."""
    widest_gap = 2 * TOLERANCE[dim]
    for i in range(1, len(rows)):
        prev, cur = rows[i - 1], rows[i]
        (plow, phigh), (low, high) = prev.range_of(dim), cur.range_of(dim)
        if low <= plow or high <= phigh:
            raise ValueError(
                f"sizes must go from small to large: {dim} of {cur.size!r} [{low:g}, {high:g}] "
                f"does not come after {prev.size!r} [{plow:g}, {phigh:g}]"
            )
        if low - phigh > widest_gap:
            raise ValueError(
                f"{dim} gap between {prev.size!r} (up to {phigh:g}) and {cur.size!r} "
                f"(from {low:g}) is wider than {widest_gap:g}"
            )
        if i >= 2 and low <= rows[i - 2].range_of(dim)[1]:
            raise ValueError(
                f"{dim} of {cur.size!r} overlaps {rows[i - 2].size!r}, two sizes below it"
            )


# --------------------------------------------------------------------------- loading


def load_chart(path: Path) -> SizeChart:
    """Read and validate one chart; ValueError names the file and the field at fault."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path.name}: not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path.name}: not UTF-8 text") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: expected a mapping of keys (name, title, kind, …)")
    try:
        return SizeChart.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_where(tuple(err['loc']), data)}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ValueError(f"{path.name}: {problems}") from exc


def _where(loc: tuple[Any, ...], data: Mapping[str, Any]) -> str:
    """A field path a manager can find: ``sizes[3] (L).weight``, counting rows from 1."""
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            label = f"[{part + 1}]"
            rows = data.get(loc[0]) if i == 1 else None
            row = rows[part] if isinstance(rows, list) and part < len(rows) else None
            name = row.get("size") if isinstance(row, dict) else None
            parts.append(f"{label} ({name})" if name is not None else label)
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "(file)"


def load_charts(directory: Path = CHART_DIR) -> dict[str, SizeChart]:
    """Every ``*.yaml``/``*.yml`` chart in ``directory`` by name; a name used twice is an error."""
    charts: dict[str, SizeChart] = {}
    files: dict[str, str] = {}
    paths = sorted([*Path(directory).glob("*.yaml"), *Path(directory).glob("*.yml")])
    for path in paths:
        chart = load_chart(path)
        if chart.name in charts:
            raise ValueError(
                f"{path.name}: name: {chart.name!r} is already used by {files[chart.name]}"
            )
        charts[chart.name] = chart
        files[chart.name] = path.name
    return charts


# --------------------------------------------------------------------------- picking a chart

_GENDER_PREFIX = {"women": "women_", "men": "men_"}
_GENDER_MARK = {"women": "女", "men": "男"}
_STRONG_SUFFIXES = ("款", "装", "式", "士", "版")


def _fold(text: str) -> str:
    """Compare product words regardless of width and case (Ｔ恤, t恤, T恤)."""
    return unicodedata.normalize("NFKC", text).casefold()


def _gender_of(name: str) -> str | None:
    for gender, prefix in _GENDER_PREFIX.items():
        if name.startswith(prefix):
            return gender
    return None


def _category_of(name: str) -> str:
    gender = _gender_of(name)
    return name.removeprefix(_GENDER_PREFIX[gender]) if gender else name


def _wanted_gender(text: str) -> str | None:
    """女 → women, 男 → men; with both (男女同款, 给男朋友买女款) only 女款/男装… decide."""
    said = {g for g, mark in _GENDER_MARK.items() if mark in text}
    if len(said) == 2:
        said = {
            g
            for g, mark in _GENDER_MARK.items()
            if any(mark + suffix in text for suffix in _STRONG_SUFFIXES)
        }
    return said.pop() if len(said) == 1 else None


@lru_cache(maxsize=2048)
def _folded_word(word: str) -> str:
    """A product word's folded form: the same few hundred words on every sizing turn."""
    return _fold(word)


def _best_word(chart: SizeChart, folded: str) -> tuple[ProductRule, tuple[int, int]] | None:
    """The chart's longest product word in the text (earliest on ties) and its rank key."""
    best: tuple[ProductRule, tuple[int, int]] | None = None
    for rule in chart.products:
        pos = folded.find(_folded_word(rule.word))
        if pos < 0:
            continue
        key = (len(rule.word), -pos)
        if best is None or key > best[1]:
            best = (rule, key)
    return best


def pick_chart(charts: Mapping[str, SizeChart], text: str, default: str = "men_tops") -> SizeChart:
    """The chart the shopper means: product words pick the kind, 女/男 pick the gender.

    The longest product word wins (牛仔裤 over 裤); without one the default's kind is used.
    Gender comes from the text, else from which chart holds the word, else from the default.
    The result carries the matched product's offset (see :meth:`SizeChart.for_product`).
    """
    if not charts:
        raise KeyError("no size charts are loaded")
    folded = _fold(text)
    ordered = [charts[name] for name in sorted(charts)]
    matches = {chart.name: m for chart in ordered if (m := _best_word(chart, folded)) is not None}
    if matches:
        top = max(matches, key=lambda name: matches[name][1])
        category = _category_of(top)
    elif default in charts:
        category = _category_of(default)
    else:
        raise KeyError(f"no product word matched and the default chart {default!r} is missing")
    wanted = _wanted_gender(folded)
    default_gender = _gender_of(default)
    candidates = [chart for chart in ordered if _category_of(chart.name) == category]

    def rank(chart: SizeChart) -> tuple[bool, tuple[int, int], bool, bool]:
        gender = _gender_of(chart.name)
        match = matches.get(chart.name)
        return (
            wanted is not None and gender == wanted,
            match[1] if match else (0, 0),
            gender == default_gender,
            chart.name == default,
        )

    chosen = max(candidates, key=rank)  # max keeps the first (by name) among equals
    return chosen.for_product(text)


# --------------------------------------------------------------------------- advice


@dataclass(frozen=True)
class Advice:
    """What the advisor concluded; the bot turns ``status``/``reason_key`` into words."""

    status: Status
    size: str | None  # recommended size
    alt_size: str | None  # the other size when borderline, or the neighbour for the fit wish
    reason_key: str  # one of REASON_KEYS
    missing: tuple[str, ...] = ()  # of "height", "weight", "foot_length", in that order


@dataclass(frozen=True)
class _Spot:
    """Where one value sits: row ``low``..``high`` (equal when squarely in one size)."""

    low: int
    high: int
    edge: bool = False  # snapped from just past the first or last row


_Place = _Spot | Literal["below", "above"]


@dataclass(frozen=True)
class _Verdict:
    """Advice in row indexes, before offsets and fit are applied."""

    status: Status
    size: int | None
    alt: int | None
    reason: str


def _usable(value: float | None) -> bool:
    """A measurement the bot may have parsed badly (0, NaN) counts as not given."""
    return value is not None and math.isfinite(value) and value > 0


def _locate(value: float, ranges: Sequence[tuple[float, float]], tolerance: float) -> _Place:
    inside = [i for i, (low, high) in enumerate(ranges) if low <= value <= high]
    if inside:
        return _Spot(inside[0], inside[-1])
    first, last = ranges[0][0], ranges[-1][1]
    if value < first:
        return _Spot(0, 0, edge=True) if first - value <= tolerance else "below"
    if value > last:
        end = len(ranges) - 1
        return _Spot(end, end, edge=True) if value - last <= tolerance else "above"
    for i in range(len(ranges) - 1):
        if ranges[i][1] < value < ranges[i + 1][0]:
            return _Spot(i, i + 1)
    raise AssertionError("validated ranges leave no other place")  # pragma: no cover


def _locate_dim(chart: SizeChart, dim: Dimension, value: float) -> _Place:
    return _locate(value, [row.range_of(dim) for row in chart.sizes], TOLERANCE[dim])


def _outside(places: Iterable[_Place]) -> _Verdict | None:
    """out_of_chart when any value is off the chart; None when all are on it."""
    off = {p for p in places if not isinstance(p, _Spot)}
    if not off:
        return None
    reason = "far_apart" if len(off) == 2 else ("too_small" if "below" in off else "too_large")
    return _Verdict("out_of_chart", None, None, reason)


def _single(spot: _Spot, ok_reason: str) -> _Verdict:
    """Advice from one measurement (shoes)."""
    if spot.low != spot.high:
        return _Verdict("borderline", spot.high, spot.low, "between_sizes")
    if spot.edge:
        return _Verdict("borderline", spot.high, None, "edge_of_chart")
    return _Verdict("ok", spot.high, None, ok_reason)


def _clothing(chart: SizeChart, height: float, weight: float) -> _Verdict:
    """Combine height and weight; when they disagree the larger size wins."""
    h, w = _locate_dim(chart, "height", height), _locate_dim(chart, "weight", weight)
    off = _outside((h, w))
    if off is not None:
        return off
    assert isinstance(h, _Spot) and isinstance(w, _Spot)
    low, high = min(h.low, w.low), max(h.high, w.high)
    if high - low > 1:
        return _Verdict("out_of_chart", None, None, "far_apart")
    if high == low:
        if h.edge or w.edge:
            return _Verdict("borderline", high, None, "edge_of_chart")
        return _Verdict("ok", high, None, "height_and_weight")
    if h.low == h.high and w.low == w.high:
        reason = "weight_dominates" if w.high > h.high else "height_dominates"
    else:
        reason = "between_sizes"
    return _Verdict("borderline", high, low, reason)


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_FOREIGN_SYSTEMS = ("us", "uk")


def _shoe_size_place(chart: SizeChart, value: float) -> _Place:
    """One number the shopper wears: 鞋号 in mm (≥ 100), cm (< 33) or the chart's EU size."""
    if value >= 100:
        return _locate_dim(chart, "foot_length", value)
    if value < 33:
        return _locate_dim(chart, "foot_length", value * 10)
    numbered = sorted(
        (number, i)
        for i, row in enumerate(chart.sizes)
        if (number := _maybe_float(row.size)) is not None
    )
    if value < numbered[0][0]:
        return "below"
    if value > numbered[-1][0]:
        return "above"
    for number, i in numbered:
        if number == value:
            return _Spot(i, i)
    for (number, i), (next_number, j) in pairwise(numbered):
        if number < value < next_number:
            return _Spot(min(i, j), max(i, j))
    raise AssertionError("a value inside the numbered sizes has a place")  # pragma: no cover


def _shoe_size(chart: SizeChart, said: str) -> _Verdict | None:
    """The shopper's usual size (``"39"``, ``"39.5"``, ``"245"``, ``"24.5cm"``, ``"38/39"``).

    None when it cannot be read, so the bot asks for the foot length instead.
    """
    folded = _fold(said).strip()
    for i, row in enumerate(chart.sizes):
        if folded == _fold(row.size) or (row.label and folded == _fold(row.label)):
            return _Verdict("ok", i, None, "shoe_size")
    if not folded or any(system in folded for system in _FOREIGN_SYSTEMS):
        return None
    numbers = [float(n) for n in _NUMBER.findall(folded)]
    if not numbers or not any(_maybe_float(row.size) is not None for row in chart.sizes):
        return None
    places = [_shoe_size_place(chart, n) for n in numbers]
    off = _outside(places)
    if off is not None:
        return off
    spots = [p for p in places if isinstance(p, _Spot)]
    low, high = min(s.low for s in spots), max(s.high for s in spots)
    if high - low > 1:
        return _Verdict("out_of_chart", None, None, "far_apart")
    return _single(_Spot(low, high, edge=any(s.edge for s in spots)), "shoe_size")


def _maybe_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _shift(verdict: _Verdict, offset: int, count: int) -> _Verdict:
    """Apply a product's offset; a size pushed past the largest row is out of the chart."""
    if offset == 0 or verdict.size is None:
        return verdict
    size = verdict.size + offset
    if size >= count:
        return _Verdict("out_of_chart", None, None, "too_large")
    size = max(size, 0)  # runs large and already the smallest: the smallest is still right
    alt = None if verdict.alt is None else verdict.alt + offset
    if alt is not None and not (0 <= alt < count and alt != size):
        alt = None
    status = verdict.status
    if status == "borderline" and alt is None and verdict.alt is not None:
        status = "ok"  # the pair collapsed onto one size: nothing left to choose between
    return _Verdict(status, size, alt, verdict.reason)


def _with_fit(verdict: _Verdict, fit: Fit | None, count: int) -> _Verdict:
    """Offer the neighbour a fit wish points at, unless a neighbour is already offered."""
    if verdict.size is None or verdict.alt is not None or fit in (None, "regular"):
        return verdict
    alt = verdict.size + (1 if fit == "loose" else -1)
    if not 0 <= alt < count:
        return verdict
    return _Verdict(verdict.status, verdict.size, alt, verdict.reason)


def advise(
    chart: SizeChart,
    *,
    height_cm: float | None = None,
    weight_jin: float | None = None,
    foot_length_mm: float | None = None,
    shoe_size: str | None = None,
    fit: Fit | None = None,
) -> Advice:
    """Recommend a size from the chart; out_of_chart means a human should take over.

    Clothing needs height and weight. Shoes use the foot length, else the shopper's usual
    ``shoe_size``. The chart's ``offset`` (set by :func:`pick_chart` for products that run
    large or small) shifts the result; ``fit`` adds the neighbour size as ``alt_size``.
    """
    if chart.kind == "clothing":
        missing = tuple(
            name
            for name, value in (("height", height_cm), ("weight", weight_jin))
            if not _usable(value)
        )
        if missing:
            return Advice("missing", None, None, "needs_measurements", missing)
        assert height_cm is not None and weight_jin is not None
        verdict = _clothing(chart, height_cm, weight_jin)
    elif _usable(foot_length_mm):
        assert foot_length_mm is not None
        place = _locate_dim(chart, "foot_length", foot_length_mm)
        verdict = _outside([place]) or _single(_as_spot(place), "foot_length")
    elif shoe_size is not None and str(shoe_size).strip():  # tolerate a bare number too
        read = _shoe_size(chart, str(shoe_size))
        if read is None:
            return Advice("missing", None, None, "unknown_shoe_size", ("foot_length",))
        verdict = read
    else:
        return Advice("missing", None, None, "needs_measurements", ("foot_length",))
    count = len(chart.sizes)
    verdict = _with_fit(_shift(verdict, chart.offset, count), fit, count)
    names = chart.size_names()
    return Advice(
        status=verdict.status,
        size=None if verdict.size is None else names[verdict.size],
        alt_size=None if verdict.alt is None else names[verdict.alt],
        reason_key=verdict.reason,
        missing=(),
    )


def settle(chart: SizeChart, advice: Advice, fit: Fit | None) -> Advice:
    """A borderline advice decided by the shopper's fit wish: 宽松 takes the larger of the two
    sizes, 修身 the smaller. When the wish overrules the measurements, the reason says so."""
    if (advice.status != "borderline" or not advice.size or not advice.alt_size
            or fit not in ("loose", "slim")):
        return advice
    names = chart.size_names()
    larger, smaller = sorted((advice.size, advice.alt_size), key=names.index, reverse=True)
    size, alt = (larger, smaller) if fit == "loose" else (smaller, larger)
    reason = advice.reason_key if size == advice.size else "between_sizes"
    return replace(advice, status="ok", size=size, alt_size=alt, reason_key=reason)


def alt_fit(chart: SizeChart, advice: Advice) -> Fit | None:
    """How the other size would fit next to the recommended one (larger: 'loose')."""
    names = chart.size_names()
    if advice.size not in names or advice.alt_size not in names:
        return None
    return "loose" if names.index(advice.alt_size) > names.index(advice.size) else "slim"


def _as_spot(place: _Place) -> _Spot:
    if not isinstance(place, _Spot):  # pragma: no cover - callers check _outside first
        raise TypeError(place)
    return place
