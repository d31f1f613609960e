"""Size charts and the sizing advisor: shipped data, advice rules, chart picking, load errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts_zh.size_charts import (
    CHART_DIR,
    REASON_KEYS,
    Advice,
    SizeChart,
    advise,
    alt_fit,
    load_chart,
    load_charts,
    pick_chart,
    settle,
)

CHART_FILES = (
    "men_tops",
    "women_tops",
    "men_trousers",
    "women_trousers",
    "men_shoes",
    "women_shoes",
)


@pytest.fixture(scope="module")
def charts() -> dict[str, SizeChart]:
    return load_charts(CHART_DIR)


# --------------------------------------------------------------------------- shipped charts


@pytest.mark.parametrize(
    ("name", "kind", "first", "last"),
    [
        ("men_tops", "clothing", "S", "3XL"),
        ("women_tops", "clothing", "XS", "2XL"),
        ("men_trousers", "clothing", "S", "3XL"),
        ("women_trousers", "clothing", "XS", "2XL"),
        ("men_shoes", "shoes", "38", "46"),
        ("women_shoes", "shoes", "34", "40"),
    ],
)
def test_every_shipped_chart_loads(name: str, kind: str, first: str, last: str) -> None:
    chart = load_chart(CHART_DIR / f"{name}.yaml")
    assert chart.name == name
    assert chart.kind == kind
    assert chart.size_names()[0] == first and chart.size_names()[-1] == last
    assert "GB/T" in chart.source
    assert chart.products, "each chart is reachable by product words"
    assert chart.offset == 0


def test_load_charts_finds_all_six(charts: dict[str, SizeChart]) -> None:
    assert sorted(charts) == sorted(CHART_FILES)


def test_men_tops_follow_gbt_1335_letter_mapping(charts: dict[str, SizeChart]) -> None:
    labels = {row.size: row.label for row in charts["men_tops"].sizes}
    assert labels == {
        "S": "165/84A",
        "M": "170/88A",
        "L": "175/92A",
        "XL": "180/96A",
        "2XL": "185/100A",
        "3XL": "190/104A",
    }


def test_product_words_are_listed_as_written(charts: dict[str, SizeChart]) -> None:
    assert {"卫衣", "T恤", "衬衫", "外套", "夹克", "毛衣"} <= set(
        charts["men_tops"].product_words()
    )
    assert {"裤", "牛仔裤", "休闲裤", "短裤"} <= set(charts["women_trousers"].product_words())
    assert {"鞋", "运动鞋", "板鞋"} <= set(charts["men_shoes"].product_words())


# --------------------------------------------------------------------------- advice

OK, BORDER, OUT, MISSING = "ok", "borderline", "out_of_chart", "missing"

# (chart, advise keyword arguments, (status, size, alt_size, reason_key, missing))
ADVICE_CASES: list[tuple[str, dict[str, Any], tuple[Any, ...]]] = [
    # typical shoppers
    ("men_tops", {"height_cm": 170, "weight_jin": 120}, (OK, "M", None, "height_and_weight", ())),
    ("men_tops", {"height_cm": 175, "weight_jin": 135}, (OK, "L", None, "height_and_weight", ())),
    ("men_tops", {"height_cm": 180, "weight_jin": 150}, (OK, "XL", None, "height_and_weight", ())),
    ("women_tops", {"height_cm": 160, "weight_jin": 100}, (OK, "M", None, "height_and_weight", ())),
    ("women_tops", {"height_cm": 150, "weight_jin": 80}, (OK, "XS", None, "height_and_weight", ())),
    (
        "men_trousers",
        {"height_cm": 185, "weight_jin": 165},
        (OK, "2XL", None, "height_and_weight", ()),
    ),
    (
        "women_trousers",
        {"height_cm": 165, "weight_jin": 110},
        (OK, "L", None, "height_and_weight", ()),
    ),
    # range ends are inclusive
    ("men_tops", {"height_cm": 168, "weight_jin": 113}, (OK, "M", None, "height_and_weight", ())),
    ("men_tops", {"height_cm": 172, "weight_jin": 127}, (OK, "M", None, "height_and_weight", ())),
    ("men_tops", {"height_cm": 167, "weight_jin": 112}, (OK, "S", None, "height_and_weight", ())),
    # between two rows: the larger size, the smaller as alternative
    ("men_tops", {"height_cm": 167.5, "weight_jin": 110}, (BORDER, "M", "S", "between_sizes", ())),
    ("men_tops", {"height_cm": 170, "weight_jin": 112.5}, (BORDER, "M", "S", "between_sizes", ())),
    ("men_tops", {"height_cm": 172.5, "weight_jin": 130}, (BORDER, "L", "M", "between_sizes", ())),
    # height and weight disagree by one size: the larger wins
    ("men_tops", {"height_cm": 170, "weight_jin": 135}, (BORDER, "L", "M", "weight_dominates", ())),
    (
        "men_tops",
        {"height_cm": 178, "weight_jin": 135},
        (BORDER, "XL", "L", "height_dominates", ()),
    ),
    (
        "women_tops",
        {"height_cm": 155, "weight_jin": 100},
        (BORDER, "M", "S", "weight_dominates", ()),
    ),
    # more than one size apart, or off the chart: a human takes over
    ("men_tops", {"height_cm": 185, "weight_jin": 120}, (OUT, None, None, "far_apart", ())),
    ("women_tops", {"height_cm": 158, "weight_jin": 120}, (OUT, None, None, "far_apart", ())),
    ("men_tops", {"height_cm": 130, "weight_jin": 100}, (OUT, None, None, "too_small", ())),
    ("men_tops", {"height_cm": 230, "weight_jin": 150}, (OUT, None, None, "too_large", ())),
    ("men_tops", {"height_cm": 175, "weight_jin": 400}, (OUT, None, None, "too_large", ())),
    ("men_tops", {"height_cm": 200, "weight_jin": 60}, (OUT, None, None, "far_apart", ())),
    # just past the chart's ends (2 cm / 4 斤): the end size, borderline
    ("men_tops", {"height_cm": 156, "weight_jin": 95}, (BORDER, "S", None, "edge_of_chart", ())),
    ("men_tops", {"height_cm": 155.9, "weight_jin": 95}, (OUT, None, None, "too_small", ())),
    ("men_tops", {"height_cm": 190, "weight_jin": 194}, (BORDER, "3XL", None, "edge_of_chart", ())),
    ("men_tops", {"height_cm": 190, "weight_jin": 194.1}, (OUT, None, None, "too_large", ())),
    ("men_tops", {"height_cm": 156, "weight_jin": 115}, (BORDER, "M", "S", "weight_dominates", ())),
    # fit preference: the neighbour as alternative, status unchanged
    (
        "men_tops",
        {"height_cm": 170, "weight_jin": 120, "fit": "loose"},
        (OK, "M", "L", "height_and_weight", ()),
    ),
    (
        "men_tops",
        {"height_cm": 170, "weight_jin": 120, "fit": "slim"},
        (OK, "M", "S", "height_and_weight", ()),
    ),
    (
        "men_tops",
        {"height_cm": 170, "weight_jin": 120, "fit": "regular"},
        (OK, "M", None, "height_and_weight", ()),
    ),
    (
        "men_tops",
        {"height_cm": 160, "weight_jin": 100, "fit": "slim"},
        (OK, "S", None, "height_and_weight", ()),
    ),
    (
        "men_tops",
        {"height_cm": 190, "weight_jin": 180, "fit": "loose"},
        (OK, "3XL", None, "height_and_weight", ()),
    ),
    (
        "men_tops",
        {"height_cm": 170, "weight_jin": 135, "fit": "loose"},
        (BORDER, "L", "M", "weight_dominates", ()),
    ),
    (
        "men_tops",
        {"height_cm": 156, "weight_jin": 95, "fit": "loose"},
        (BORDER, "S", "M", "edge_of_chart", ()),
    ),
    (
        "men_tops",
        {"height_cm": 130, "weight_jin": 100, "fit": "loose"},
        (OUT, None, None, "too_small", ()),
    ),
    # missing measurements, named in order height, weight
    ("men_tops", {}, (MISSING, None, None, "needs_measurements", ("height", "weight"))),
    ("men_tops", {"height_cm": 170}, (MISSING, None, None, "needs_measurements", ("weight",))),
    ("men_tops", {"weight_jin": 120}, (MISSING, None, None, "needs_measurements", ("height",))),
    (
        "men_tops",
        {"height_cm": 0, "weight_jin": float("nan")},
        (MISSING, None, None, "needs_measurements", ("height", "weight")),
    ),
    (
        "men_tops",
        {"foot_length_mm": 250, "fit": "loose"},
        (MISSING, None, None, "needs_measurements", ("height", "weight")),
    ),
    # shoes by foot length
    ("men_shoes", {"foot_length_mm": 240}, (OK, "38", None, "foot_length", ())),
    ("men_shoes", {"foot_length_mm": 245}, (OK, "39", None, "foot_length", ())),
    ("men_shoes", {"foot_length_mm": 262}, (OK, "43", None, "foot_length", ())),
    ("men_shoes", {"foot_length_mm": 240.5}, (BORDER, "39", "38", "between_sizes", ())),
    ("men_shoes", {"foot_length_mm": 233}, (BORDER, "38", None, "edge_of_chart", ())),
    ("men_shoes", {"foot_length_mm": 230}, (OUT, None, None, "too_small", ())),
    ("men_shoes", {"foot_length_mm": 290}, (OUT, None, None, "too_large", ())),
    ("men_shoes", {"foot_length_mm": 240, "fit": "loose"}, (OK, "38", "39", "foot_length", ())),
    ("men_shoes", {"foot_length_mm": 236, "fit": "slim"}, (OK, "38", None, "foot_length", ())),
    ("women_shoes", {"foot_length_mm": 225}, (OK, "35", None, "foot_length", ())),
    ("women_shoes", {"foot_length_mm": 252}, (BORDER, "40", None, "edge_of_chart", ())),
    (
        "men_shoes",
        {"foot_length_mm": 250, "shoe_size": "39"},
        (OK, "40", None, "foot_length", ()),
    ),
    (
        "men_shoes",
        {"height_cm": 175, "weight_jin": 130},
        (MISSING, None, None, "needs_measurements", ("foot_length",)),
    ),
    # shoes by the shopper's usual size
    ("men_shoes", {"shoe_size": "39"}, (OK, "39", None, "shoe_size", ())),
    ("men_shoes", {"shoe_size": "39码"}, (OK, "39", None, "shoe_size", ())),
    ("men_shoes", {"shoe_size": "245"}, (OK, "39", None, "shoe_size", ())),
    ("men_shoes", {"shoe_size": "24.5cm"}, (OK, "39", None, "shoe_size", ())),
    ("men_shoes", {"shoe_size": "38.5"}, (BORDER, "39", "38", "between_sizes", ())),
    ("men_shoes", {"shoe_size": "38/39"}, (BORDER, "39", "38", "between_sizes", ())),
    ("men_shoes", {"shoe_size": "37"}, (OUT, None, None, "too_small", ())),
    ("men_shoes", {"shoe_size": "47"}, (OUT, None, None, "too_large", ())),
    ("men_shoes", {"shoe_size": "39", "fit": "slim"}, (OK, "39", "38", "shoe_size", ())),
    ("women_shoes", {"shoe_size": "36"}, (OK, "36", None, "shoe_size", ())),
    (
        "men_shoes",
        {"shoe_size": "US 8"},
        (MISSING, None, None, "unknown_shoe_size", ("foot_length",)),
    ),
    ("men_shoes", {"shoe_size": "L"}, (MISSING, None, None, "unknown_shoe_size", ("foot_length",))),
    (
        "men_shoes",
        {"shoe_size": " "},
        (MISSING, None, None, "needs_measurements", ("foot_length",)),
    ),
    ("men_shoes", {}, (MISSING, None, None, "needs_measurements", ("foot_length",))),
]


def _case_id(case: tuple[str, dict[str, Any], tuple[Any, ...]]) -> str:
    chart, kwargs, expected = case
    args = ",".join(f"{k}={v}" for k, v in kwargs.items()) or "nothing"
    return f"{chart}:{args}->{expected[0]}"


@pytest.mark.parametrize(
    ("chart_name", "kwargs", "expected"), ADVICE_CASES, ids=[_case_id(c) for c in ADVICE_CASES]
)
def test_advise(
    charts: dict[str, SizeChart],
    chart_name: str,
    kwargs: dict[str, Any],
    expected: tuple[Any, ...],
) -> None:
    advice = advise(charts[chart_name], **kwargs)
    assert advice == Advice(*expected)
    assert advice.reason_key in REASON_KEYS


def test_advice_shape_is_consistent_for_templates(charts: dict[str, SizeChart]) -> None:
    """Templates rely on: ok/borderline carry a size; only edge_of_chart lacks a pair."""
    for chart_name, kwargs, _ in ADVICE_CASES:
        advice = advise(charts[chart_name], **kwargs)
        if advice.status in ("ok", "borderline"):
            assert advice.size is not None and advice.missing == ()
        if advice.status == "borderline" and advice.alt_size is None:
            assert advice.reason_key == "edge_of_chart"
        if advice.status in ("out_of_chart", "missing"):
            assert advice.size is None and advice.alt_size is None
        assert (advice.status == "missing") == bool(advice.missing)


def test_a_fit_wish_settles_a_borderline_case(charts: dict[str, SizeChart]) -> None:
    """170 cm / 130 斤 sits between M and L: 宽松 takes L, 修身 takes M (and says it chose by
    the wish); the other size is offered as the other fit."""
    tops = charts["men_tops"]
    unsure = advise(tops, height_cm=170, weight_jin=130)
    assert (unsure.status, unsure.size, unsure.alt_size) == ("borderline", "L", "M")
    assert alt_fit(tops, unsure) == "slim"
    loose = settle(tops, unsure, "loose")
    assert (loose.status, loose.size, loose.alt_size, loose.reason_key) == (
        "ok", "L", "M", unsure.reason_key)
    slim = settle(tops, unsure, "slim")
    assert (slim.status, slim.size, slim.alt_size, slim.reason_key) == (
        "ok", "M", "L", "between_sizes")
    assert alt_fit(tops, slim) == "loose"
    assert settle(tops, unsure, "regular") == settle(tops, unsure, None) == unsure


def test_every_advice_reads_well_in_every_variant(charts: dict[str, SizeChart]) -> None:
    """Each advice the cases produce, with and without a fit wish, renders in every variant
    of its prompt with the measurements and sizes in it and no empty or None slot."""
    from config.settings import DEFAULT_LIBRARY
    from scripts_zh.loader import load_library
    from scripts_zh.renderer import render

    prompts = load_library(DEFAULT_LIBRARY).intents["sizing"].prompts
    checked = 0
    for chart_name, kwargs, _ in ADVICE_CASES:
        chart = charts[chart_name]
        if chart.kind != "clothing" or "height_cm" not in kwargs or "fit" in kwargs:
            continue
        for fit in (None, "loose", "slim"):
            advice = settle(chart, advise(chart, **kwargs, fit=fit), fit)
            if advice.status not in ("ok", "borderline"):
                continue
            key = "advice" if advice.status == "ok" else "borderline"
            for variant in prompts[key]:
                text = render(variant, {
                    "height": kwargs["height_cm"], "weight": kwargs["weight_jin"],
                    "size": advice.size, "alt_size": advice.alt_size, "fit": fit,
                    "alt_fit": alt_fit(chart, advice),
                    "reason": prompts[f"reason_{advice.reason_key}"][0]})
                assert "None" not in text and "  " not in text, text
                assert str(advice.size) in text and f"{kwargs['height_cm']}cm" in text, text
                if advice.alt_size:
                    assert str(advice.alt_size) in text, text
                checked += 1
    assert checked >= 20


# --------------------------------------------------------------------------- product offsets


@pytest.fixture(scope="module")
def offset_charts(charts: dict[str, SizeChart]) -> dict[str, SizeChart]:
    """The shipped charts with two products a manager marked as running large / small."""
    tops = charts["men_tops"].model_dump()
    tops["products"] = [
        *tops["products"],
        {"word": "加绒卫衣", "offset": -1},
        {"word": "修身衬衫", "offset": 1},
    ]
    shoes = charts["men_shoes"].model_dump()
    shoes["products"] = [
        {"word": "篮球鞋", "offset": 1} if p["word"] == "篮球鞋" else p for p in shoes["products"]
    ]
    return {
        **charts,
        "men_tops": SizeChart.model_validate(tops),
        "men_shoes": SizeChart.model_validate(shoes),
    }


@pytest.mark.parametrize(
    ("text", "kwargs", "expected"),
    [
        ("加绒卫衣", {"height_cm": 175, "weight_jin": 135}, (OK, "M", None, "height_and_weight")),
        ("卫衣", {"height_cm": 175, "weight_jin": 135}, (OK, "L", None, "height_and_weight")),
        ("加绒卫衣", {"height_cm": 160, "weight_jin": 100}, (OK, "S", None, "height_and_weight")),
        ("加绒卫衣", {"height_cm": 167.5, "weight_jin": 110}, (OK, "S", None, "between_sizes")),
        ("加绒卫衣", {"height_cm": 170, "weight_jin": 135}, (BORDER, "M", "S", "weight_dominates")),
        ("修身衬衫", {"height_cm": 170, "weight_jin": 120}, (OK, "L", None, "height_and_weight")),
        ("修身衬衫", {"height_cm": 190, "weight_jin": 180}, (OUT, None, None, "too_large")),
        (
            "修身衬衫",
            {"height_cm": 170, "weight_jin": 120, "fit": "loose"},
            (OK, "L", "XL", "height_and_weight"),
        ),
        ("篮球鞋", {"shoe_size": "39"}, (OK, "40", None, "shoe_size")),
        ("篮球鞋", {"foot_length_mm": 244}, (OK, "40", None, "foot_length")),
    ],
)
def test_product_offset_shifts_the_advice(
    offset_charts: dict[str, SizeChart],
    text: str,
    kwargs: dict[str, Any],
    expected: tuple[Any, ...],
) -> None:
    chart = pick_chart(offset_charts, text)
    assert advise(chart, **kwargs) == Advice(*expected)


def test_offset_chart_keeps_its_name(offset_charts: dict[str, SizeChart]) -> None:
    picked = pick_chart(offset_charts, "想买加绒卫衣")
    assert picked.name == "men_tops" and picked.offset == -1
    assert offset_charts["men_tops"].offset == 0, "the loaded chart is not modified"


# --------------------------------------------------------------------------- picking a chart


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("这件卫衣穿什么码", "men_tops", "men_tops"),
        ("T恤有没有大码", "men_tops", "men_tops"),
        ("t恤偏大吗", "men_tops", "men_tops"),
        ("女款卫衣", "men_tops", "women_tops"),
        ("女生穿外套选哪个码", "men_tops", "women_tops"),
        ("我是女的 身高160", "men_tops", "women_tops"),
        ("身高170体重120", "men_tops", "men_tops"),
        ("身高160", "women_trousers", "women_trousers"),
        ("男款 身高175", "women_tops", "men_tops"),
        ("牛仔裤怎么选", "men_tops", "men_trousers"),
        ("女款牛仔裤", "men_tops", "women_trousers"),
        ("短裤", "women_tops", "women_trousers"),
        ("休闲裤", "men_tops", "men_trousers"),
        ("运动鞋多大", "men_tops", "men_shoes"),
        ("女生板鞋", "men_tops", "women_shoes"),
        ("鞋子偏码吗", "women_tops", "women_shoes"),
        ("高跟鞋", "men_tops", "women_shoes"),
        ("连衣裙", "men_tops", "women_tops"),
        ("半身裙", "men_tops", "women_trousers"),
        ("男女同款T恤", "men_tops", "men_tops"),
        ("给男朋友买女款毛衣", "men_tops", "women_tops"),
        ("牛仔裤配T恤", "men_tops", "men_trousers"),
        ("卫衣和短裤", "men_tops", "men_tops"),
    ],
)
def test_pick_chart(charts: dict[str, SizeChart], text: str, default: str, expected: str) -> None:
    assert pick_chart(charts, text, default=default).name == expected


def test_pick_chart_without_charts_or_default() -> None:
    with pytest.raises(KeyError):
        pick_chart({}, "卫衣")


def test_pick_chart_unknown_default_without_product_word(charts: dict[str, SizeChart]) -> None:
    with pytest.raises(KeyError, match="kids_tops"):
        pick_chart(charts, "身高120", default="kids_tops")


# --------------------------------------------------------------------------- load errors


def _good_chart() -> dict[str, Any]:
    return {
        "name": "men_tops",
        "title": "男装上衣",
        "kind": "clothing",
        "source": "GB/T 1335.1-2008",
        "products": ["卫衣"],
        "sizes": [
            {"size": "S", "label": "165/84A", "height": [160, 167], "weight": [90, 112]},
            {"size": "M", "label": "170/88A", "height": [168, 172], "weight": [113, 127]},
        ],
    }


def _write(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *head, last = dotted.split(".")
    node: Any = data
    for part in head:
        node = node[int(part)] if part.isdigit() else node[part]
    key: Any = int(last) if last.isdigit() else last
    if value is _DELETE:
        del node[key]
    else:
        node[key] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("dotted", "value", "needles"),
    [
        ("kind", "hats", ["kind"]),
        ("name", "Men Tops", ["name"]),
        ("source", _DELETE, ["source", "Field required"]),
        ("sizes.1.height", [172, 168], ["sizes[2] (M).height", "above"]),
        ("sizes.1.height", [170], ["sizes[2] (M).height", "[low, high]"]),
        ("sizes.1.weight", "heavy", ["sizes[2] (M).weight"]),
        ("sizes.1.weight", _DELETE, ["sizes", "'M' has no weight"]),
        ("sizes.1.hieght", [168, 172], ["sizes[2] (M).hieght", "not permitted"]),
        ("sizes.1.foot_length", [240, 245], ["sizes", "does not use"]),
        ("sizes.1.height", [150, 159], ["sizes", "small to large"]),
        ("sizes.1.height", [175, 180], ["sizes", "gap"]),
        ("sizes.1.size", "S", ["sizes", "listed twice"]),
        ("sizes", [], ["sizes"]),
        ("products", ["卫衣", {"word": "外套", "offset": 5}], ["products[2].offset"]),
        ("products", ["卫衣", "卫衣"], ["products", "listed twice"]),
        ("colour", "red", ["colour", "not permitted"]),
    ],
)
def test_broken_chart_names_file_and_field(
    tmp_path: Path, dotted: str, value: Any, needles: list[str]
) -> None:
    path = _write(tmp_path / "broken.yaml", _set(_good_chart(), dotted, value))
    with pytest.raises(ValueError) as caught:
        load_chart(path)
    message = str(caught.value)
    assert message.startswith("broken.yaml: ")
    for needle in needles:
        assert needle in message


def test_good_chart_loads_from_tmp(tmp_path: Path) -> None:
    chart = load_chart(_write(tmp_path / "ok.yaml", _good_chart()))
    assert chart.size_names() == ["S", "M"]


def test_numeric_shoe_sizes_may_be_written_without_quotes(tmp_path: Path) -> None:
    text = (
        "name: kids_shoes\ntitle: 童鞋\nkind: shoes\nsource: GB/T 3293.1-1998\n"
        "sizes:\n  - {size: 30, label: 190, foot_length: [186, 190]}\n"
        "  - {size: 31, label: 195, foot_length: [191, 195]}\n"
    )
    path = tmp_path / "kids_shoes.yaml"
    path.write_text(text, encoding="utf-8")
    chart = load_chart(path)
    assert chart.size_names() == ["30", "31"]
    assert advise(chart, shoe_size="31").size == "31"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("name: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        ("", "expected a mapping"),
    ],
)
def test_unreadable_chart_file(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=needle) as caught:
        load_chart(path)
    assert str(caught.value).startswith("broken.yaml: ")


def test_load_charts_rejects_a_name_used_twice(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", _good_chart())
    _write(tmp_path / "b.yml", _good_chart())
    with pytest.raises(ValueError, match=r"b\.yml: name: 'men_tops' is already used by a\.yaml"):
        load_charts(tmp_path)


def test_load_charts_reads_yml_too(tmp_path: Path) -> None:
    _write(tmp_path / "tops.yml", _good_chart())
    assert list(load_charts(tmp_path)) == ["men_tops"]
