"""Console test helpers: an agent's logged-in HTTP client, shoppers, waiting for events."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp

from bot.services import Services
from bot.turn import Incoming, Turn
from tests.conftest import login_token

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@dataclass
class Site:
    url: str
    services: Services | None = None

    def agent(self, name: str, password: str = "correct horse") -> AgentClient:
        return AgentClient(self.url, name, password)


class AgentClient:
    """An agent's browser without the browser: cookie jar, CSRF token, JSON calls."""

    def __init__(self, url: str, name: str, password: str) -> None:
        self.url = url
        self.name = name
        self.password = password
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def __aenter__(self) -> AgentClient:
        await self.login()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.http.close()

    async def login(self, url: str | None = None) -> None:
        """Log in at /login (on ``url``'s process) and read the CSRF token from /console."""
        base = url or self.url
        fields, cookies = await login_token(self.http, base)
        async with self.http.post(base + "/login", data={
                "name": self.name, "password": self.password, "next": "/console", **fields},
                cookies=cookies) as resp:
            assert resp.status == 200, await resp.text()
            page = await resp.text()
        found = CSRF.search(page)
        assert found, "no CSRF token on the console page"
        self.csrf = found.group(1)

    async def get(self, path: str, *, base: str | None = None) -> tuple[int, Any]:
        async with self.http.get((base or self.url) + "/console/api/" + path) as resp:
            return resp.status, await resp.json()

    async def post(self, path: str, body: dict[str, Any] | None = None, *,
                   base: str | None = None, csrf: bool = True) -> tuple[int, Any]:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        async with self.http.post((base or self.url) + "/console/api/" + path,
                                  json=body or {}, headers=headers) as resp:
            return resp.status, await resp.json()

    def ws(self, *, base: str | None = None, origin: str | None = None
           ) -> Any:
        """The console websocket (an async context manager), with a same-site Origin."""
        target = base or self.url
        return self.http.ws_connect(target + "/console/ws",
                                    headers={"Origin": origin if origin is not None else target})


async def shopper(services: Services, text: str, chat: str = "s1", name: str = "") -> Turn:
    """A web shopper's line, straight into the engine (the bridge runs inside the app)."""
    return await services.engine.handle(Incoming("web", chat, text, display_name=name))


async def until(check: Callable[[], Awaitable[Any]], within: float = 5.0) -> Any:
    """Poll ``check`` until it returns something truthy (or fail after ``within`` seconds)."""
    async with asyncio.timeout(within):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.02)


async def next_event(ws: aiohttp.ClientWebSocketResponse, kind: str,
                     within: float = 5.0) -> dict[str, Any]:
    """The next console frame of this kind (earlier frames of other kinds are skipped)."""
    async with asyncio.timeout(within):
        while True:
            frame = await ws.receive_json()
            if frame.get("type") == "event" and frame.get("kind") == kind:
                return dict(frame)
