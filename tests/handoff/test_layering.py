"""handoff/ stays below the bot: allowed imports only, and no shopper-facing Chinese text."""

from __future__ import annotations

import ast
import re
import sys

from tests.conftest import ROOT

PACKAGE = ROOT / "handoff"
ALLOWED = {"handoff", "config", "pydantic", "redis"} | set(sys.stdlib_module_names)
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def test_handoff_imports_only_stdlib_pydantic_redis_and_config() -> None:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            bad += [f"{path.name}: {n}" for n in names if n.split(".")[0] not in ALLOWED]
    assert bad == []


def test_no_chinese_text_in_handoff() -> None:
    found = [f"{p.name}:{i}" for p in sorted(PACKAGE.rglob("*.py"))
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if CJK.search(line)]
    assert found == []
