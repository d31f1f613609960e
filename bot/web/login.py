"""Login pages and web sessions for agents and managers: signed cookies, CSRF, throttling.

Passwords are checked in worker threads a few at a time, and attempts are counted per
address, per (account, address) and per account (:mod:`bot.auth.throttle`), so a login
flood neither stalls shoppers nor locks an agent out from their own address.

The session cookie carries the user name, role, a CSRF token and a stamp of the password,
signed with the secret key (itsdangerous); it is HttpOnly and SameSite=Lax. Every request
checks it against the account store, so removing an account, changing its role or its
password ends its sessions at once. Every POST from a logged-in page carries the token in a
form field or the X-CSRF-Token header. Roles are checked on the server for every request:
``await require(request, "manager")``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import aiohttp_jinja2
from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.auth.throttle import counters_for
from bot.auth.users import Role, User, UserError, UserStore, check_password

log = logging.getLogger(__name__)

COOKIE = "kefu_session"
SESSION_MAX_AGE = 12 * 3600
#: argon2 hashes at once: each uses a core for ~50 ms, so half the cores at most.
HASH_SLOTS = max(1, (os.cpu_count() or 2) // 2)


def _lower_priority() -> None:
    """Hashing threads yield the CPU to the event loop's thread (Linux: nice per thread)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICE)


#: Worker threads for argon2 (it releases the GIL), at a lower priority than the loop.
HASH_NICE = 10
_HASHERS = ThreadPoolExecutor(HASH_SLOTS, thread_name_prefix="argon2",
                              initializer=_lower_priority)


@dataclass(frozen=True)
class LoginLimits:
    """Fixed windows of ``window`` seconds."""

    window: int = 300
    per_address: int = 60  # attempts from one address, whatever the name
    per_pair: int = 5  # failures for one account from one address
    per_account: int = 50  # failures for one account from every address


@dataclass(frozen=True)
class Session:
    user: str
    role: Role
    csrf: str
    display_name: str


class Auth:
    """Sessions and login throttling for one web app."""

    def __init__(self, users: UserStore, secret: str, *, secure_cookies: bool = False,
                 limits: LoginLimits | None = None) -> None:
        self.users = users
        self.serializer = URLSafeTimedSerializer(secret, salt="kefu-session")
        self.secure_cookies = secure_cookies
        self.limits = limits or LoginLimits()
        self.counters = counters_for(users)
        self._hashing = asyncio.Semaphore(HASH_SLOTS)

    async def session(self, request: web.Request) -> Session | None:
        """The request's session, checked against the account as it is now: a removed
        account, a changed role or a new password ends every session at once."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data: dict[str, Any] = self.serializer.loads(raw, max_age=SESSION_MAX_AGE)
            session = Session(data["u"], data["r"], data["c"], data.get("d", data["u"]))
            stamp = data["p"]
        except (BadSignature, KeyError, TypeError):
            return None
        try:
            user = await self.users.get(session.user)
        except (UserError, ValueError, TypeError, OSError) as exc:
            log.warning("session check failed: %s", exc)
            raise web.HTTPServiceUnavailable(
                text="503: accounts are unavailable for a moment; try again shortly") from None
        if user is None or user.role != session.role or _stamp(user) != stamp:
            return None
        return session

    def start(self, response: web.StreamResponse, user: User) -> Session:
        session = Session(user.name, user.role, secrets.token_urlsafe(24), user.display_name)
        token = self.serializer.dumps({"u": session.user, "r": session.role, "c": session.csrf,
                                       "d": session.display_name, "p": _stamp(user)})
        response.set_cookie(COOKIE, token, max_age=SESSION_MAX_AGE, httponly=True,
                            samesite="Lax", secure=self.secure_cookies, path="/")
        return session

    async def locked(self, name: str, address: str) -> float:
        """Seconds until ``name`` may try from ``address`` again; 0 when it may now.

        Failures count per (account, address), so one address guessing an agent's password
        does not lock the agent out elsewhere; a looser ceiling per account stops a guess
        spread over many addresses; attempts per address stop one address trying names."""
        limits = self.limits
        for key, ceiling in ((f"addr:{address}", limits.per_address),
                             (f"pair:{name}|{address}", limits.per_pair),
                             (f"account:{name}", limits.per_account)):
            count, left = await self.counters.peek(key)
            if count >= ceiling:
                return max(left, 1.0)
        return 0.0

    async def attempt(self, address: str) -> None:
        await self.counters.hit(f"addr:{address}", self.limits.window)

    async def failed(self, name: str, address: str) -> None:
        await self.counters.hit(f"pair:{name}|{address}", self.limits.window)
        await self.counters.hit(f"account:{name}", self.limits.window)

    async def succeeded(self, name: str, address: str) -> None:
        await self.counters.clear(f"pair:{name}|{address}")

    async def check_password(self, user: User | None, password: str) -> bool:
        """argon2 in a worker thread, a few at a time: a login flood queues here while the
        event loop keeps answering shoppers."""
        async with self._hashing:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(_HASHERS, check_password, user, password)


AUTH: web.AppKey[Auth] = web.AppKey("auth", Auth)


def _stamp(user: User) -> str:
    """A short digest of the password hash: a new password invalidates old cookies."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:12]


async def require(request: web.Request, role: Role) -> Session:
    """The session of a user allowed ``role``; redirect to /login or 403 otherwise."""
    session = await request.app[AUTH].session(request)
    if session is None:
        raise web.HTTPFound(f"/login?next={quote(request.path_qs)}")
    if not (session.role == "manager" or session.role == role):
        raise web.HTTPForbidden(text="403: this page is for the role " + role)
    return session


async def check_csrf(request: web.Request, session: Session) -> None:
    """POSTs must carry the session's CSRF token (form field or header)."""
    token = request.headers.get("X-CSRF-Token")
    if token is None and request.content_type in ("application/x-www-form-urlencoded",
                                                  "multipart/form-data"):
        token = str((await request.post()).get("csrf", ""))
    if not token or not secrets.compare_digest(token, session.csrf):
        raise web.HTTPForbidden(text="403: missing or wrong CSRF token; reload the page")


def _same_site(path: str) -> bool:
    """A path on this site: browsers drop tabs and newlines and read a backslash as ``/``,
    so ``/%09/evil.example`` or ``/%5Cevil.example`` (decoded) would leave it."""
    if not path.startswith("/") or path.startswith("//"):
        return False
    if "\\" in path or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        return False
    parts = urlsplit(path)
    return not parts.scheme and not parts.netloc


def _safe_next(value: str | None, role: Role) -> str:
    """Where to go after logging in: only a same-site path, also once percent-decoded."""
    if value and _same_site(value) and _same_site(unquote(value)):
        return value
    return "/editor" if role == "manager" else "/console"


@aiohttp_jinja2.template("login.html")
async def login_page(request: web.Request) -> dict[str, Any]:
    return {"next": request.query.get("next", ""), "error": None, "name": ""}


async def login(request: web.Request) -> web.StreamResponse:
    auth = request.app[AUTH]
    form = await request.post()
    name = str(form.get("name", "")).strip()[:64]
    password = str(form.get("password", ""))[:256]
    nxt = str(form.get("next", ""))
    address = request.remote or "?"
    try:
        wait = await auth.locked(name, address)
        if wait:
            return _login_error(request, name, nxt, "locked", status=429, wait=int(wait) + 1)
        await auth.attempt(address)
        user = await auth.users.get(name) if name else None
        if not await auth.check_password(user, password) or user is None:
            await auth.failed(name, address)
            return _login_error(request, name, nxt, "wrong", status=401)
        await auth.succeeded(name, address)
    except UserError:
        return _login_error(request, name, nxt, "unavailable", status=503)
    response = web.HTTPFound(_safe_next(nxt, user.role))
    auth.start(response, user)
    raise response


def _login_error(request: web.Request, name: str, nxt: str, error: str, *, status: int,
                 wait: int = 0) -> web.Response:
    return aiohttp_jinja2.render_template(
        "login.html", request, {"next": nxt, "error": error, "name": name, "wait": wait},
        status=status)


async def logout(request: web.Request) -> web.StreamResponse:
    response = web.HTTPFound("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


def setup(app: web.Application, auth: Auth) -> None:
    app[AUTH] = auth
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/logout", logout)
