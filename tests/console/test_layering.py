"""House rules the console keeps: no Chinese in its Python, no HTML built from data."""

from __future__ import annotations

import re

from tests.conftest import ROOT

PACKAGE = ROOT / "bot" / "console"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def test_no_chinese_text_in_the_consoles_python() -> None:
    found = [f"{p.name}:{i}" for p in sorted(PACKAGE.rglob("*.py"))
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if CJK.search(line)]
    assert found == []


def test_the_page_and_script_never_turn_data_into_html() -> None:
    script = (PACKAGE / "static" / "console.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script, sink
    templates = sorted((PACKAGE / "templates").glob("*.html"))
    assert templates
    for template in templates:
        text = template.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text
