"""Where the console's page, API, websocket, template and static files are mounted."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.console import api, live
from bot.console.page import page
from bot.web import assets

TICKET = "/console/api/tickets/{ticket_id:[A-Za-z0-9_-]{1,64}}"


def setup(app: web.Application) -> None:
    assets.add_feature(app, "console", Path(__file__).resolve().parent)
    app[live.SOCKETS] = set()
    app[live.HUB] = live.Hub()
    app.cleanup_ctx.append(live.run_hub)
    app.on_shutdown.append(live.close_all)
    app.router.add_get("/console", page)
    app.router.add_get("/console/ws", live.socket)
    for name, handler in api.READS.items():
        app.router.add_get(f"/console/api/{name}", api.endpoint(handler))
    app.router.add_get(TICKET, api.endpoint(api.ticket))
    for name, handler in api.ACTIONS.items():
        app.router.add_post(f"{TICKET}/{name}", api.endpoint(handler, post=True))
    app.router.add_post("/console/api/presence", api.endpoint(api.presence, post=True))
