"""Manager templates cannot freeze the process: bounded at validation and at render."""

from __future__ import annotations

import time

import pytest

from scripts_zh.loader import read_texts, validate_texts
from scripts_zh.renderer import TemplateTooBig, render
from tests.conftest import ROOT

HEAVY = {
    "nested loop": "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000)"
                   " %}{% endfor %}{% endfor %}{% endfor %}",
    "big range": "{% for i in range(10**7) %}{% endfor %}",
    "repeated text": "{{ 'x'*10**8 }}",
    "huge power": "{{ (2**100000)|string|length }}",
    "huge product": "{{ (10**70) * (10**70) }}",
    "percent width": "{{ '%100000000s' % 1 }}",
    "format width": "{{ '{:>100000000}'.format(1) }}",
    "center": "{{ 'x'|center(100000000) }}",
    "long output": "{% for i in range(1000) %}{{ 'x'*100 }}{% endfor %}",
}


@pytest.mark.parametrize("template", HEAVY.values(), ids=HEAVY.keys())
def test_heavy_templates_stop_quickly(template: str) -> None:
    start = time.perf_counter()
    with pytest.raises(TemplateTooBig):
        render(template, {})
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("template", HEAVY.values(), ids=HEAVY.keys())
def test_heavy_templates_are_rejected_at_validation(template: str) -> None:
    texts = dict(read_texts(ROOT / "scripts_zh" / "library"))
    quoted = template.replace("'", "''")
    texts["system.yaml"] += f"\nextra_heavy:\n  - '{quoted}'\n"
    start = time.perf_counter()
    problems = [str(p) for p in validate_texts(texts) if p.severity == "error"]
    assert time.perf_counter() - start < 30
    assert any("extra_heavy" in p or "system.yaml" in p for p in problems)
    assert any("template too big" in p for p in problems), problems


def test_ordinary_templates_still_render() -> None:
    context = {"shop_name": "店", "options": ["a", "b"], "count": 3}
    text = "你好{{ shop_name }}，{{ options|join('、') }}{{ '%s件' % count }}{{ 3*4 }}{{ 2**10 }}"
    assert render(text, context) == "你好店，a、b3件121024"
    assert render("{% for o in options %}{{ loop.index }}.{{ o }} {% endfor %}",
                  context) == "1.a 2.b"
    with pytest.raises(Exception, match="unsafe"):
        render("{% set l = [] %}{{ l.append(1) }}", {})
