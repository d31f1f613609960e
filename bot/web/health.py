"""/health: is the process up, does the store answer, which library version runs."""

from __future__ import annotations

import time

from aiohttp import web

from bot.web.keys import services_of


async def health(request: web.Request) -> web.Response:
    services = services_of(request)
    store_ok = await services.store.ping()
    body = {
        "status": "ok" if store_ok else "degraded",
        "store": type(services.store).__name__,
        "store_ok": store_ok,
        "library": services.brains.current.version,
        "intents": len(services.brains.current.library.intents),
        "uptime_s": round(time.time() - services.started_at, 1),
    }
    return web.json_response(body, status=200 if store_ok else 503)


def setup(app: web.Application) -> None:
    app.router.add_get("/health", health)
