"""The aiohttp application factory (like rasa-sdk's create_app): one app, every web route."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.auth.secret import secret_key
from bot.console import setup as console_setup
from bot.editor import forms as editor_forms
from bot.editor import web as editor_web
from bot.services import Services
from bot.web import auth, chat, health

HERE = Path(__file__).resolve().parent
SERVICES: web.AppKey[Services] = web.AppKey("services", Services)


async def _root(_: web.Request) -> web.Response:
    raise web.HTTPFound("/chat")


async def _bridge(app: web.Application) -> AsyncIterator[None]:
    """Follow handoff events for as long as the app runs."""
    task = asyncio.create_task(app[SERVICES].bridge.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(services: Services) -> web.Application:
    """Build the web app around ready Services; the caller owns their lifetime."""
    app = web.Application(client_max_size=editor_forms.MAX_BODY)
    app[SERVICES] = services
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    app.router.add_get("/", _root)
    app.router.add_static("/static", HERE / "static", append_version=True)
    chat.setup(app)
    health.setup(app)
    app.cleanup_ctx.append(_bridge)
    auth.setup(app, auth.Auth(services.users, secret_key(services.settings)))
    editor_web.setup(app)
    console_setup(app)
    return app
