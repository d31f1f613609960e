"""Logging in over real HTTP and reading the CSRF token from a page."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

from bot.auth.users import User, new_user
from bot.services import Services
from bot.web.app import create_app
from tests.conftest import free_port, login_token

PASSWORD = "correct horse"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@functools.cache
def accounts() -> tuple[User, ...]:
    """An agent and two managers, hashed once per test session (argon2 is slow on purpose)."""
    return (new_user("amy", "agent", PASSWORD), new_user("boss", "manager", PASSWORD, "老板"),
            new_user("lily", "manager", PASSWORD, "丽丽"))


async def add_accounts(services: Services) -> None:
    for user in accounts():
        await services.users.put(user)


@asynccontextmanager
async def running_site(services: Services) -> AsyncIterator[str]:
    """The whole web app on a free loopback port."""
    runner = web.AppRunner(create_app(services))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class Browser:
    """An aiohttp client with a cookie jar that remembers the page's CSRF token."""

    def __init__(self, site: str, http: aiohttp.ClientSession) -> None:
        self.site = site
        self.http = http
        self.csrf = ""

    async def login(self, name: str) -> None:
        fields, cookies = await login_token(self.http, self.site)
        async with self.http.post(self.site + "/login",
                                  data={"name": name, "password": PASSWORD, **fields},
                                  cookies=cookies, allow_redirects=False) as resp:
            assert resp.status == 302, await resp.text()
        if name != "amy":
            await self.get("/editor")

    async def get(self, path: str, status: int = 200) -> str:
        async with self.http.get(self.site + path) as resp:
            text = await resp.text()
            assert resp.status == status, (path, resp.status, text[:500])
        if found := CSRF.search(text):
            self.csrf = found.group(1)
        return text

    async def post(self, path: str, data: dict[str, object] | aiohttp.FormData,
                   status: int = 200, csrf: bool = True) -> str:
        if csrf and isinstance(data, dict):
            data = {"csrf": self.csrf, **data}
        async with self.http.post(self.site + path, data=data) as resp:
            text = await resp.text()
            assert resp.status == status, (path, resp.status, text[:800])
        if found := CSRF.search(text):
            self.csrf = found.group(1)
        return text


@asynccontextmanager
async def browser(site: str, name: str | None = None) -> AsyncIterator[Browser]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        client = Browser(site, http)
        if name:
            await client.login(name)
        yield client


def intent_form(data: dict[str, object], **changes: object) -> aiohttp.FormData:
    """The intent page's fields as the browser would post them (replies repeat)."""
    values = {**data, **changes}
    form = aiohttp.FormData()
    for key, value in values.items():
        if key == "replies":
            for reply in value:  # type: ignore[attr-defined]
                form.add_field("reply", str(reply))
        elif isinstance(value, list):
            form.add_field(key, "\n".join(str(v) for v in value))
        else:
            form.add_field(key, str(value))
    return form
