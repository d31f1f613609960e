"""Login pages and web sessions for agents and managers: signed cookies, CSRF, throttling.

The session cookie carries the user name, role, a CSRF token and a stamp of the password,
signed with the secret key (itsdangerous); it is HttpOnly and SameSite=Lax. Every request
checks it against the account store, so removing an account, changing its role or its
password ends its sessions at once. Every POST from a logged-in page carries the token in a
form field or the X-CSRF-Token header. Roles are checked on the server for every request:
``await require(request, "manager")``.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.auth.users import Role, User, UserError, UserStore, check_password

log = logging.getLogger(__name__)

COOKIE = "kefu_session"
SESSION_MAX_AGE = 12 * 3600
FAILURES_ALLOWED = 5
FAILURE_WINDOW = 300.0
LOCKOUT = 60.0


@dataclass(frozen=True)
class Session:
    user: str
    role: Role
    csrf: str
    display_name: str


class Auth:
    """Sessions and login throttling for one web app."""

    def __init__(self, users: UserStore, secret: str, *, secure_cookies: bool = False) -> None:
        self.users = users
        self.serializer = URLSafeTimedSerializer(secret, salt="kefu-session")
        self.secure_cookies = secure_cookies
        self._failures: dict[str, deque[float]] = defaultdict(deque)

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

    def locked(self, key: str) -> float:
        """Seconds until ``key`` (name + address) may try again; 0 when it may now."""
        now = time.monotonic()
        failures = self._failures[key]
        while failures and now - failures[0] > FAILURE_WINDOW:
            failures.popleft()
        if len(failures) >= FAILURES_ALLOWED:
            return max(0.0, LOCKOUT - (now - failures[-1]))
        return 0.0

    def failed(self, key: str) -> None:
        self._failures[key].append(time.monotonic())

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


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


def _safe_next(value: str | None, role: Role) -> str:
    if value and value.startswith("/") and not value.startswith("//"):
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
    key = f"{name}|{request.remote}"
    wait = auth.locked(key)
    if wait:
        return _login_error(request, name, nxt, "locked", status=429, wait=int(wait) + 1)
    try:
        user = await auth.users.get(name) if name else None
    except UserError:
        return _login_error(request, name, nxt, "unavailable", status=503)
    if not check_password(user, password) or user is None:
        auth.failed(key)
        return _login_error(request, name, nxt, "wrong", status=401)
    auth.succeeded(key)
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
