"""Features bring their own templates and static files; one name means one template."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from bot.web import assets


def _feature(root: Path, template: str) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "static").mkdir()
    (root / "templates" / template).write_text("<p>{{ x }}</p>", encoding="utf-8")
    return root


def test_a_feature_may_not_take_a_template_name_already_in_use(tmp_path: Path) -> None:
    app = web.Application()
    assets.setup(app)
    assets.add_feature(app, "one", _feature(tmp_path / "one", "one.html"))
    with pytest.raises(RuntimeError, match=r"one\.html"):
        assets.add_feature(app, "two", _feature(tmp_path / "two", "one.html"))
    with pytest.raises(RuntimeError, match=r"login\.html"):
        assets.add_feature(app, "three", _feature(tmp_path / "three", "login.html"))
