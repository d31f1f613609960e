"""``kefu size``: the sizing advisor from the command line, speaking the library's words."""

from __future__ import annotations

import sys
from typing import cast

from config import Settings
from scripts_zh.loader import load_library
from scripts_zh.renderer import pick, render
from scripts_zh.size_charts import Fit, advise, alt_fit, settle

JIN_PER_KG = 2.0


def print_advice(settings: Settings, *, chart: str, height: float | None, weight: float | None,
                 weight_unit: str, fit: str | None) -> int:
    library = load_library(settings.library_dir)
    if chart not in library.size_charts:
        names = ", ".join(sorted(library.size_charts))
        print(f"kefu size: unknown chart {chart!r}; charts: {names}", file=sys.stderr)
        return 2
    size_chart = library.size_charts[chart]
    weight_jin = None if weight is None else weight * (JIN_PER_KG if weight_unit == "kg" else 1)
    wish = cast("Fit | None", fit)  # argparse allowed only loose / regular / slim
    advice = settle(size_chart, advise(size_chart, height_cm=height, weight_jin=weight_jin,
                                       fit=wish), wish)
    sizing = library.intent("sizing")
    prompts = sizing.prompts if sizing else {}
    key = {"ok": "advice", "borderline": "borderline", "out_of_chart": "out_of_chart"}.get(
        advice.status, "ask_both")
    if advice.status == "missing":
        missing: dict[tuple[str, ...], str] = {("height",): "ask_height", ("weight",): "ask_weight"}
        key = missing.get(advice.missing, "ask_both")
    reasons = prompts.get(f"reason_{advice.reason_key}")
    context: dict[str, object] = {
        "shop_name": library.shop_name(settings.shop_name), "slots": {}, "size": advice.size,
        "alt_size": advice.alt_size, "fit": fit, "chart_title": size_chart.title,
        "alt_fit": alt_fit(size_chart, advice),
        "height": _num(height), "weight": _num(weight_jin),
        "reason": render(pick(reasons, 0), {}) if reasons else "",
    }
    print(render(pick(prompts[key], 0), context))
    print(f"[{size_chart.name}: status={advice.status} size={advice.size} "
          f"alt={advice.alt_size} reason={advice.reason_key}]")
    return 0 if advice.status in ("ok", "borderline") else 1


def _num(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 1)
