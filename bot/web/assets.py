"""Templates and static files: bot/web's shared ones, and each staff feature's own.

One Jinja environment renders every page. It looks in ``bot/web/templates`` (chat, login)
and in each feature's ``templates`` folder, which the feature adds in its ``setup(app)``
with :func:`add_feature`; names are flat, so each feature prefixes its own (``console.html``,
``editor_*.html``) and a clash fails at start-up. Static files are served at ``/static/``
(shared: ``staff.css``, ``chat.*``) and ``/static/<feature>/`` from the feature's ``static``.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

HERE = Path(__file__).resolve().parent


def setup(app: web.Application) -> None:
    """The shared templates and ``/static``; features add theirs afterwards."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(HERE / "templates")]),
        autoescape=jinja2.select_autoescape(default=True),
    )
    app.router.add_static("/static", HERE / "static", append_version=True)


def add_feature(app: web.Application, name: str, folder: Path) -> None:
    """Render ``folder/templates`` and serve ``folder/static`` at ``/static/<name>/``."""
    env = aiohttp_jinja2.get_env(app)
    current = env.loader
    if not isinstance(current, jinja2.ChoiceLoader):
        raise RuntimeError("call bot.web.assets.setup(app) before adding a feature")
    added = jinja2.FileSystemLoader(folder / "templates")
    clash = set(added.list_templates()) & set(current.list_templates())
    if clash:
        raise RuntimeError(f"{name}: template names already taken: {sorted(clash)}")
    env.loader = jinja2.ChoiceLoader([*current.loaders, added])
    app.router.add_static(f"/static/{name}", folder / "static", append_version=True)
