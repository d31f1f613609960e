"""handoff/ holds no shopper-facing Chinese text (its imports are checked by `lint-imports`)."""

from __future__ import annotations

import re

from tests.conftest import ROOT

PACKAGE = ROOT / "handoff"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def test_no_chinese_text_in_handoff() -> None:
    found = [f"{p.name}:{i}" for p in sorted(PACKAGE.rglob("*.py"))
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if CJK.search(line)]
    assert found == []
