"""GET /console: the page shell; the JS fills it from the API and the websocket.

Anonymous visitors are sent to /login (and back here afterwards); the CSRF token the JS
sends with every POST is rendered into the page, never into a GET API answer.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.web.keys import services_of
from bot.web.login import require
from handoff.models import PRESENCES, SKILLS


@aiohttp_jinja2.template("console.html")
async def page(request: web.Request) -> dict[str, Any]:
    session = await require(request, "agent")
    services = services_of(request)
    return {"session": session, "csrf": session.csrf, "skills": SKILLS,
            "presences": PRESENCES, "shop_name": services.brains.current.shop_name,
            "default_capacity": services.handoff.default_capacity}
