"""Accounts and logins over real HTTP: hashing, wrong passwords, lockout, cookies."""

from __future__ import annotations

import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from yarl import URL

from bot.auth import FileUserStore, RedisUserStore, UserError, UserStore
from bot.auth.users import check_password, new_user
from bot.services import Services
from bot.web.app import create_app
from bot.web.login import Auth
from tests.bot.test_cli import run
from tests.conftest import free_port, post_login, redis_client

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(params=["file", "redis"])
async def users(request: pytest.FixtureRequest, tmp_path: Path,
                redis_prefix: str) -> AsyncIterator[UserStore]:
    if request.param == "file":
        yield FileUserStore(tmp_path / "users.json")
        return
    async with redis_client(redis_prefix) as client:
        yield RedisUserStore(client, prefix=redis_prefix)


async def test_user_store_contract(users: UserStore) -> None:
    assert await users.get("amy") is None
    await users.put(new_user("amy", "agent", "correct horse"))
    await users.put(new_user("boss", "manager", "battery staple"))
    amy = await users.get("amy")
    assert amy is not None and amy.role == "agent"
    assert "correct horse" not in amy.password_hash
    assert check_password(amy, "correct horse") and not check_password(amy, "wrong one!")
    assert [u.name for u in await users.all()] == ["amy", "boss"]
    assert await users.delete("amy") and not await users.delete("amy")


async def test_file_store_sees_another_writer_and_refuses_a_broken_file(tmp_path: Path) -> None:
    """The parsed file is kept between requests, but an edit by another process (``kefu
    users`` in a shell) shows at once; a damaged file is a clear UserError, not a crash."""
    path = tmp_path / "users.json"
    server, shell = FileUserStore(path), FileUserStore(path)
    await shell.put(new_user("amy", "agent", "correct horse"))
    assert (await server.get("amy")) is not None
    await shell.put(new_user("amy", "manager", "correct horse"))
    amy = await server.get("amy")
    assert amy is not None and amy.role == "manager"
    assert await shell.delete("amy") and await server.get("amy") is None
    for damage in ("{not json", '["a list"]', '{"amy": {"unexpected": 1}}'):
        path.write_text(damage, encoding="utf-8")
        with pytest.raises(UserError, match="unreadable"):
            await server.get("amy")


@pytest.mark.parametrize(("name", "role", "password"), [
    ("a", "agent", "long enough"), ("amy", "admin", "long enough"), ("amy", "agent", "short"),
    ("bad name!", "agent", "long enough")])
def test_bad_accounts_are_refused(name: str, role: str, password: str) -> None:
    with pytest.raises(UserError):
        new_user(name, role, password)


@pytest.fixture
async def site(services: Services) -> AsyncIterator[str]:
    await services.users.put(new_user("amy", "agent", "correct horse"))
    runner = web.AppRunner(create_app(services))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_wrong_password_is_clear_and_rate_limited(site: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            async with post_login(http, site,
                                 data={"name": "amy", "password": "nope nope"}) as resp:
                assert resp.status == 401
                assert "用户名或密码不正确" in await resp.text()
        async with post_login(http, site,
                             data={"name": "amy", "password": "correct horse"}) as resp:
            assert resp.status == 429
            assert "尝试次数过多" in await resp.text()
        assert not http.cookie_jar.filter_cookies(site).get("kefu_session")


async def test_login_sets_a_signed_cookie_and_logout_clears_it(site: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with post_login(http, site, data={"name": "amy", "password": "correct horse",
                                                    "next": "//evil.example"},
                             allow_redirects=False) as resp:
            assert resp.status == 302
            assert resp.headers["Location"] == "/console"
            cookie = resp.cookies["kefu_session"]
            assert cookie["httponly"] and cookie["samesite"] == "Lax"
            assert "amy" not in cookie.value or "." in cookie.value
        async with http.post(site + "/logout", allow_redirects=False) as resp:
            assert resp.status == 302
            assert resp.cookies["kefu_session"].value == ""


@pytest.mark.parametrize("change", ["removed", "new password", "now a manager"])
async def test_account_changes_end_sessions_at_once(site: str, services: Services,
                                                    change: str) -> None:
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies set by 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with post_login(http, site,
                             data={"name": "amy", "password": "correct horse"}) as resp:
            assert resp.status == 200
        async with http.get(site + "/console", allow_redirects=False) as resp:
            assert resp.status == 200
        if change == "removed":
            assert await services.users.delete("amy")
        elif change == "new password":
            await services.users.put(new_user("amy", "agent", "a new password"))
        else:
            await services.users.put(new_user("amy", "manager", "correct horse"))
        async with http.get(site + "/console", allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"].startswith("/login")
        async with http.get(site + "/console/api/queue") as resp:
            assert resp.status == 401


def test_users_cli_adds_lists_and_removes(tmp_path: Path) -> None:
    env = {"KEFU_DATA_DIR": str(tmp_path)}
    added = run("users", "add", "amy", "--role", "agent", stdin="correct horse\n", env=env)
    assert added.returncode == 0, added.stderr
    assert "added amy (agent)" in added.stdout
    assert (tmp_path / "users.json").stat().st_mode & 0o077 == 0
    assert "correct horse" not in (tmp_path / "users.json").read_text()
    listed = run("users", "list", env=env)
    assert "amy\tagent" in listed.stdout
    short = run("users", "add", "bob", "--role", "agent", stdin="short\n", env=env)
    assert short.returncode == 2 and "password too short" in short.stderr
    removed = run("users", "remove", "amy", env=env)
    assert removed.returncode == 0 and "removed amy" in removed.stdout


async def test_an_unreachable_account_store_is_a_clear_503(site: str, services: Services,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with post_login(http, site,
                             data={"name": "amy", "password": "correct horse"}) as resp:
            assert resp.status == 200

        async def broken(name: str) -> None:
            raise UserError("user store unavailable: connection refused")

        monkeypatch.setattr(services.users, "get", broken)
        async with http.get(site + "/console/api/queue") as resp:
            assert resp.status == 503
            assert (await resp.json())["code"] == "unavailable"
        async with http.get(site + "/console", allow_redirects=False) as resp:
            assert resp.status == 503 and "try again" in await resp.text()


@pytest.mark.parametrize("raw", [
    "/%09/evil.example/", "/%0a/evil.example/", "/%0d%0a/evil.example/", "/%20/evil.example/",
    "/%5Cevil.example/", "%5C%5Cevil.example", "/%5C/evil.example", "//evil.example",
    "///evil.example", "https:%2F%2Fevil.example", "https://evil.example", "%2F%2Fevil.example",
    "/%2F/evil.example", "/%252F%252Fevil.example", "javascript:alert(1)", "evil.example",
    "/%7F/evil.example", "%09//evil.example"])
async def test_login_never_redirects_off_site(site: str, raw: str) -> None:
    """``next`` comes from the query (decoded once by the page), goes back in the form."""
    async with aiohttp.ClientSession() as http:
        async with http.get(site + "/login?next=" + raw) as resp:
            assert resp.status == 200
        nxt = unquote(raw)
        async with post_login(http, site, data={"name": "amy", "password": "correct horse",
                                                    "next": nxt},
                             allow_redirects=False) as resp:
            assert resp.status == 302
            assert resp.headers["Location"] == "/console", nxt


async def test_login_keeps_a_same_site_next(site: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with post_login(http, site, data={"name": "amy", "password": "correct horse",
                                                    "next": "/console?ticket=T-1#x"},
                             allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/console?ticket=T-1#x"


async def test_logout_revokes_the_session_on_the_server(site: str) -> None:
    """A copy of the cookie (another tab, a stolen one) stops working at logout."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with post_login(http, site, data={"name": "amy", "password": "correct horse"}
                              ) as resp:
            page = await resp.text()
        csrf = CSRF.search(page)
        assert csrf is not None
        stolen = {"kefu_session": jar.filter_cookies(URL(site))["kefu_session"].value}
        async with http.get(site + "/logout", allow_redirects=False) as resp:
            assert resp.status == 405  # POST only
        async with http.post(site + "/logout", allow_redirects=False) as resp:
            assert resp.status == 403  # without the session's CSRF token
        async with http.post(site + "/logout", data={"csrf": csrf.group(1)},
                             allow_redirects=False) as resp:
            assert resp.status == 302
    async with aiohttp.ClientSession() as other:
        async with other.get(site + "/console", cookies=stolen, allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"].startswith("/login")
        async with other.get(site + "/console/api/queue", cookies=stolen) as resp:
            assert resp.status == 401


async def test_login_needs_the_forms_csrf_token(site: str) -> None:
    async with aiohttp.ClientSession() as http:
        for extra, cookies in (({}, {}), ({"csrf": "x" * 32}, {"kefu_login": "y" * 32}),
                               ({"csrf": "x" * 32}, {})):
            async with http.post(site + "/login", cookies=cookies, allow_redirects=False,
                                 data={"name": "amy", "password": "correct horse", **extra}
                                 ) as resp:
                assert resp.status == 403 and "页面已过期" in await resp.text()
                assert "kefu_session" not in resp.cookies


async def test_secure_cookies_when_configured_or_over_https(services: Services) -> None:
    services.settings = services.settings.model_copy(update={"secure_cookies": True})
    await services.users.put(new_user("amy", "agent", "correct horse"))
    runner = web.AppRunner(create_app(services))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with post_login(http, f"http://127.0.0.1:{port}", allow_redirects=False,
                                  data={"name": "amy", "password": "correct horse"}) as resp:
                assert resp.status == 302 and resp.cookies["kefu_session"]["secure"]
    finally:
        await runner.cleanup()
    auth = Auth(services.users, "secret")
    assert auth.secure(make_mocked_request("GET", "/", sslcontext=ssl.create_default_context()))
    assert not auth.secure(make_mocked_request("GET", "/"))
