"""The benchmark scripts hide no module: ``python bench/X.py`` puts bench/ first on sys.path."""

from __future__ import annotations

import importlib.util

from tests.conftest import ROOT


def test_no_bench_script_shares_its_name_with_an_importable_module() -> None:
    scripts = sorted(p.stem for p in (ROOT / "bench").glob("*.py"))
    assert "chat" in scripts  # the folder was found
    assert [s for s in scripts if importlib.util.find_spec(s) is not None] == []
