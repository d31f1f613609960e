"""The aiohttp application factory (like rasa-sdk's create_app): one app, every web route.

It only composes: each part mounts its own routes, templates and static files in its
``setup(app)`` and reads the Services through :mod:`bot.web.keys`, so nothing imports this
module but the server, the CLI and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from bot.auth.secret import secret_key
from bot.console import routes as console
from bot.editor import forms as editor_forms
from bot.editor import routes as editor
from bot.services import Services
from bot.web import assets, chat, health, login
from bot.web.keys import SERVICES


async def _bridge(app: web.Application) -> AsyncIterator[None]:
    """Follow handoff events for as long as the app runs."""
    task = asyncio.create_task(app[SERVICES].bridge.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _library(app: web.Application) -> AsyncIterator[None]:
    """Follow published versions (and flush hit counts) for as long as the app runs."""
    library = app[SERVICES].library
    if library is not None:
        await library.start()
    yield
    if library is not None:
        await library.stop()


def create_app(services: Services) -> web.Application:
    """Build the web app around ready Services; the caller owns their lifetime."""
    app = web.Application(client_max_size=editor_forms.MAX_BODY)
    app[SERVICES] = services
    assets.setup(app)
    chat.setup(app)
    health.setup(app)
    app.cleanup_ctx.append(_bridge)
    app.cleanup_ctx.append(_library)
    login.setup(app, login.Auth(services.users, secret_key(services.settings),
                                secure_cookies=services.settings.secure_cookies))
    editor.setup(app)
    console.setup(app)
    return app
