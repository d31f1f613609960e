"""What every editor handler shares: the manager's session and workspace, rendering, redirects.

Handlers call :func:`start` (role and, for POSTs, CSRF checks), then :func:`render` with a
template and its values; every page shows who is logged in, the draft and the live version.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, tzinfo
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.editor import forms
from bot.editor.drafts import Workspace, open_workspace
from bot.editor.problems import Located
from bot.library.reload import check
from bot.library.runtime import LibraryRuntime
from bot.web.keys import services_of
from bot.web.login import Session, check_csrf, require

log = logging.getLogger(__name__)

NAV = {"editor.html": "intents", "editor_intent.html": "intents", "editor_system.html": "system",
       "editor_charts.html": "charts", "editor_file.html": "charts", "editor_try.html": "try",
       "editor_versions.html": "versions", "editor_diff.html": "versions",
       "editor_unanswered.html": "unanswered"}


def runtime_of(request: web.Request) -> LibraryRuntime:
    library = services_of(request).library
    if library is None:
        raise web.HTTPServiceUnavailable(text="the script library is not set up in this process")
    return library


def when(tz: tzinfo, stamp: float) -> str:
    """A version's time in the shop's time zone."""
    return datetime.fromtimestamp(stamp, tz).strftime("%Y-%m-%d %H:%M:%S")


async def render(request: web.Request, session: Session, ws: Workspace, template: str,
                 ctx: dict[str, Any], status: int = 200) -> web.Response:
    """Render an editor page with what every page shows (user, draft state, live version)."""
    runtime = runtime_of(request)
    _, problems = await check(ws.texts)
    errors = sum(1 for p in problems if p.severity == "error")
    reloader = runtime.reloader
    tz = services_of(request).settings.tz
    base = {
        "session": session, "csrf": session.csrf, "ws": ws, "draft_errors": errors,
        "running": reloader.running if reloader else runtime.running,
        "when": lambda stamp: when(tz, stamp), "flash": request.query.get("done", ""),
        "flash_n": request.query.get("n", ""), "limits": forms.MAX_CHARS,
        "max_items": forms.MAX_ITEMS,
    }
    base["nav"] = NAV.get(template, "")
    return aiohttp_jinja2.render_template(template, request, {**base, **ctx}, status=status)


async def start(request: web.Request, post: bool = False) -> tuple[Session, Workspace]:
    """Managers only (403 / login redirect otherwise), CSRF for POSTs; then their workspace."""
    session = await require(request, "manager")
    if post:
        await check_csrf(request, session)
    return session, await open_workspace(runtime_of(request), session.user)


def by_field(located: list[Located], rel: str) -> dict[str, list[Located]]:
    """``rel``'s problems by form field, to show each next to its input."""
    grouped: dict[str, list[Located]] = defaultdict(list)
    for item in located:
        if item.problem.file == rel:
            grouped[item.field].append(item)
    return grouped


def go(path: str, done: str = "", n: int | str = "") -> web.HTTPFound:
    """Redirect after a POST, with a notice code the page words (see editor_base.html)."""
    query = f"?done={done}" + (f"&n={n}" if n != "" else "") if done else ""
    return web.HTTPFound(path + query)


