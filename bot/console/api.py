"""The console's JSON API under /console/api: reads (GET) and actions (POST).

Every request is checked on the server: a session of an agent or manager (401 JSON without
one, so a script gets an answer it can read instead of the login page), and on POST the
session's CSRF token in the ``X-CSRF-Token`` header. Failures are ``{"error", "code"}``
with a 4xx/503 status (see :mod:`bot.console.errors`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.auth import UserError
from bot.console import phrases, views
from bot.console.errors import ApiError, from_exception
from bot.services import Services
from bot.storage import StoreUnavailable
from bot.text_clean import load_json
from bot.web.keys import services_of
from bot.web.login import AUTH, Session, check_csrf
from handoff import SKILLS, HandoffError, HandoffUnavailable, Ticket, UnknownTicket

log = logging.getLogger(__name__)

MAX_TEXT = 2000
MAX_CAPACITY = 50
ROLES = ("agent", "manager")

Handler = Callable[[web.Request, Session], Awaitable[dict[str, Any]]]


async def session_of(request: web.Request) -> Session:
    """The caller's session; ApiError 401/403 when there is none or the role may not, 503
    when the accounts cannot be checked."""
    try:
        session = await request.app[AUTH].session(request)
    except web.HTTPServiceUnavailable:
        raise ApiError(503, "unavailable", "accounts are unavailable for a moment; try again"
                       ) from None
    if session is None:
        raise ApiError(401, "login", "log in first at /login")
    if session.role not in ROLES:
        raise ApiError(403, "forbidden", "this is for agents and managers")
    return session


async def _csrf(request: web.Request, session: Session) -> None:
    try:
        await check_csrf(request, session)
    except web.HTTPForbidden:
        raise ApiError(403, "csrf", "missing or wrong CSRF token; reload the page") from None


def endpoint(handler: Handler, *, post: bool = False
             ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a handler with the role check, the CSRF check (POST) and error mapping."""

    async def run(request: web.Request) -> web.StreamResponse:
        try:
            session = await session_of(request)
            if post:
                await _csrf(request, session)
            return web.json_response(await handler(request, session))
        except (ApiError, HandoffError, HandoffUnavailable) as exc:
            return from_exception(exc)

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


async def body_of(request: web.Request) -> dict[str, Any]:
    """The POST body as a JSON object (an empty body counts as ``{}``)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = load_json(raw)
    except ValueError:
        raise ApiError(400, "bad_json", "the body must be JSON (UTF-8, not deeply nested)"
                       ) from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    return data


def text_of(data: dict[str, Any], key: str = "text") -> str:
    """A required, non-blank text of at most MAX_TEXT characters."""
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "empty", f"{key}: write something first")
    if len(value) > MAX_TEXT:
        raise ApiError(400, "too_long", f"{key}: at most {MAX_TEXT} characters")
    return value.strip()


def _optional_name(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise ApiError(400, "invalid", f"{key}: expected a name")
    return value


async def ticket_or_404(services: Services, ticket_id: str) -> Ticket:
    ticket = await services.handoff.ticket(ticket_id)
    if ticket is None:
        raise UnknownTicket(ticket_id)
    return ticket


def _id(request: web.Request) -> str:
    return request.match_info["ticket_id"]


async def display_names(services: Services) -> dict[str, str]:
    """Agents' display names by login name; empty when the account store is down."""
    try:
        return {u.name: u.display_name for u in await services.users.all()}
    except UserError as exc:
        log.warning("console: account store unavailable for display names: %s", exc)
        return {}


# ----------------------------------------------------------------------------- reads


async def me(request: web.Request, session: Session) -> dict[str, Any]:
    """The caller's own presence, capacity, skills and load."""
    services = services_of(request)
    profile = await services.handoff.agent(session.user)
    if profile is None:
        active = len(await services.handoff.tickets_of(session.user))
        data: dict[str, Any] = {"name": session.user, "presence": "offline",
                                "capacity": services.handoff.default_capacity,
                                "skills": list(SKILLS), "active": active}
    else:
        data = views.agent(profile, session.display_name)
    return {**data, "display_name": session.display_name, "role": session.role,
            "now": services.handoff.clock()}


async def queue(request: web.Request, session: Session) -> dict[str, Any]:
    """Queued tickets, urgent first then longest waiting (optionally one skill)."""
    services = services_of(request)
    skill = request.query.get("skill") or None
    if skill is not None and skill not in SKILLS:
        raise ApiError(400, "invalid", f"skill: expected one of {', '.join(SKILLS)}")
    library = services.brains.current.library
    now = services.handoff.clock()
    tickets = await services.handoff.queue(skill)
    return {"now": now, "tickets": [views.brief(t, library, now) for t in tickets]}


async def mine(request: web.Request, session: Session) -> dict[str, Any]:
    """The tickets the caller holds now."""
    services = services_of(request)
    library = services.brains.current.library
    now = services.handoff.clock()
    tickets = await services.handoff.tickets_of(session.user)
    return {"now": now, "tickets": [views.brief(t, library, now) for t in tickets]}


async def agents(request: web.Request, session: Session) -> dict[str, Any]:
    """Every agent with presence as it counts now (for transfers and the team view)."""
    services = services_of(request)
    names = await display_names(services)
    return {"agents": [views.agent(a, names.get(a.name, a.name))
                       for a in await services.handoff.agents()]}


async def ticket(request: web.Request, session: Session) -> dict[str, Any]:
    """One ticket with its context, chat, notes, the quick phrases filled in for it and the
    agents' display names (for message and note authors)."""
    services = services_of(request)
    found = await ticket_or_404(services, _id(request))
    now = services.handoff.clock()
    try:
        state = await services.store.load(found.conversation)
    except StoreUnavailable:
        state = None
    traditional = bool(state and state.traditional)
    return {"now": now, "ticket": views.full(found, services.brains.current.library, now,
                                             session.user),
            "phrases": phrases.rendered(services.brains.current, found,
                                        session.display_name, traditional=traditional),
            "traditional": traditional, "names": await display_names(services)}


# ----------------------------------------------------------------------------- actions


async def _result(services: Services, found: Ticket, session: Session) -> dict[str, Any]:
    now = services.handoff.clock()
    return {"ok": True, "now": now,
            "ticket": views.full(found, services.brains.current.library, now, session.user)}


async def claim(request: web.Request, session: Session) -> dict[str, Any]:
    """Take a queued ticket; exactly one of several agents clicking at once wins."""
    services = services_of(request)
    claimed = await services.handoff.claim(_id(request), session.user)
    if claimed is None:
        current = await ticket_or_404(services, _id(request))
        if current.status == "queued":
            raise ApiError(409, "at_capacity", "you have no free seat: finish a chat first")
        raise ApiError(409, "taken", "someone else took this ticket")
    return await _result(services, claimed, session)


async def message(request: web.Request, session: Session) -> dict[str, Any]:
    """Send a reply to the shopper (the bridge delivers it on every channel)."""
    services = services_of(request)
    text = text_of(await body_of(request))
    sent = await services.handoff.agent_message(_id(request), session.user, text)
    return await _result(services, sent, session)


async def note(request: web.Request, session: Session) -> dict[str, Any]:
    """A private note for agents; never shown to the shopper."""
    services = services_of(request)
    text = text_of(await body_of(request))
    noted = await services.handoff.note(_id(request), session.user, text)
    return await _result(services, noted, session)


async def transfer(request: web.Request, session: Session) -> dict[str, Any]:
    """Move the ticket to another (online, free) agent or to a skill's queue."""
    services = services_of(request)
    data = await body_of(request)
    to_agent = _optional_name(data, "to_agent")
    to_skill = _optional_name(data, "to_skill")
    if to_agent is None and to_skill is None:
        raise ApiError(400, "invalid", "choose an agent or a skill group")
    moved = await services.handoff.transfer(_id(request), session.user, to_agent=to_agent,
                                            to_skill=to_skill)
    return await _result(services, moved, session)


async def hand_back(request: web.Request, session: Session) -> dict[str, Any]:
    """Return the shopper to the bot."""
    services = services_of(request)
    ended = await services.handoff.hand_back(_id(request), session.user)
    return await _result(services, ended, session)


async def close(request: web.Request, session: Session) -> dict[str, Any]:
    """End the chat; the bridge asks the shopper for a rating."""
    services = services_of(request)
    ended = await services.handoff.close(_id(request), session.user)
    return await _result(services, ended, session)


async def presence(request: web.Request, session: Session) -> dict[str, Any]:
    """Set the caller's presence (online, away, offline) and optionally capacity and skills."""
    services = services_of(request)
    data = await body_of(request)
    chosen = data.get("presence")
    if not isinstance(chosen, str):
        raise ApiError(400, "invalid", "presence: expected online, away or offline")
    capacity = data.get("capacity")
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)
                                 or not 0 <= capacity <= MAX_CAPACITY):
        raise ApiError(400, "invalid", f"capacity: a whole number from 0 to {MAX_CAPACITY}")
    skills = data.get("skills")
    if skills is not None and (not isinstance(skills, list) or not skills
                               or not all(isinstance(s, str) for s in skills)):
        raise ApiError(400, "invalid", "skills: a non-empty list of skill names")
    await services.handoff.set_presence(session.user, chosen, capacity=capacity,
                                        skills=skills)
    return await me(request, session)


READS: dict[str, Handler] = {"me": me, "queue": queue, "mine": mine, "agents": agents}
ACTIONS: dict[str, Handler] = {"claim": claim, "message": message, "note": note,
                               "transfer": transfer, "hand_back": hand_back, "close": close}
