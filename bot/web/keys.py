"""What every web feature reads from the app: the process's Services.

A leaf on purpose: :mod:`bot.web.app` imports the features (chat, console, editor) and they
import only this, so nothing imports the app back. A feature's own state (its sockets, its
hub) stays under its own key in its own module.
"""

from __future__ import annotations

from aiohttp import web

from bot.services import Services

SERVICES: web.AppKey[Services] = web.AppKey("services", Services)


def services_of(request: web.Request) -> Services:
    return request.app[SERVICES]
