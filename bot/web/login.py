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
import re
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
LOGIN_COOKIE = "kefu_login"
LOGIN_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
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
    #: Names this login so logout can revoke it on the server.
    sid: str = ""


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
            session = Session(data["u"], data["r"], data["c"], data.get("d", data["u"]),
                              data["s"])
            stamp = data["p"]
        except (BadSignature, KeyError, TypeError):
            return None
        try:
            if await self.revoked(session.sid):
                return None
            user = await self.users.get(session.user)
        except (UserError, ValueError, TypeError, OSError) as exc:
            log.warning("session check failed: %s", exc)
            raise web.HTTPServiceUnavailable(
                text="503: accounts are unavailable for a moment; try again shortly") from None
        if user is None or user.role != session.role or _stamp(user) != stamp:
            return None
        return session

    def start(self, request: web.Request, response: web.StreamResponse, user: User) -> Session:
        session = Session(user.name, user.role, secrets.token_urlsafe(24), user.display_name,
                          secrets.token_urlsafe(16))
        token = self.serializer.dumps({"u": session.user, "r": session.role, "c": session.csrf,
                                       "d": session.display_name, "p": _stamp(user),
                                       "s": session.sid})
        response.set_cookie(COOKIE, token, max_age=SESSION_MAX_AGE, httponly=True,
                            samesite="Lax", secure=self.secure(request), path="/")
        return session

    def secure(self, request: web.Request) -> bool:
        """``Secure`` cookies when configured or when the page came over HTTPS."""
        return self.secure_cookies or request.secure

    async def revoke(self, session: Session) -> None:
        """Logout: this session stops working everywhere, for as long as its cookie lives."""
        await self.counters.hit(f"revoked:{session.sid}", SESSION_MAX_AGE)

    async def revoked(self, sid: str) -> bool:
        return (await self.counters.peek(f"revoked:{sid}"))[0] > 0

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


def _login_token(request: web.Request) -> str:
    """The login form's CSRF token: the same random value in a cookie and in the form
    (double submit), so another site cannot log a browser into its own account."""
    token = request.cookies.get(LOGIN_COOKIE, "")
    return token if LOGIN_TOKEN.match(token) else secrets.token_urlsafe(24)


async def login_page(request: web.Request) -> web.StreamResponse:
    return _login_form(request, {"next": request.query.get("next", ""), "error": None,
                                 "name": ""}, status=200)


async def login(request: web.Request) -> web.StreamResponse:
    auth = request.app[AUTH]
    form = await request.post()
    name = str(form.get("name", "")).strip()[:64]
    password = str(form.get("password", ""))[:256]
    nxt = str(form.get("next", ""))
    address = request.remote or "?"
    cookie, sent = request.cookies.get(LOGIN_COOKIE, ""), str(form.get("csrf", ""))
    if not LOGIN_TOKEN.match(cookie) or not secrets.compare_digest(cookie, sent):
        return _login_error(request, name, nxt, "expired", status=403)
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
    auth.start(request, response, user)
    raise response


def _login_error(request: web.Request, name: str, nxt: str, error: str, *, status: int,
                 wait: int = 0) -> web.Response:
    return _login_form(request, {"next": nxt, "error": error, "name": name, "wait": wait},
                       status=status)


def _login_form(request: web.Request, context: dict[str, Any], *, status: int) -> web.Response:
    token = _login_token(request)
    response = aiohttp_jinja2.render_template("login.html", request, {**context, "csrf": token},
                                              status=status)
    response.set_cookie(LOGIN_COOKIE, token, max_age=SESSION_MAX_AGE, httponly=True,
                        samesite="Strict", secure=request.app[AUTH].secure(request),
                        path="/login")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    """POST only, with the session's CSRF token; the session is revoked on the server, so a
    copy of the cookie stops working too."""
    auth = request.app[AUTH]
    session = await auth.session(request)
    if session is not None:
        await check_csrf(request, session)
        try:
            await auth.revoke(session)
        except UserError as exc:
            log.warning("could not revoke a session: %s", exc)
            raise web.HTTPServiceUnavailable(
                text="503: accounts are unavailable for a moment; try again shortly") from None
    response = web.HTTPFound("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


def setup(app: web.Application, auth: Auth) -> None:
    app[AUTH] = auth
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
