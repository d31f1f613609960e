"""/console/ws: handoff events pushed to agents' consoles, and the presence heartbeat.

Each bot process holds ONE subscription to the handoff events (``Services.events``, the
bridge and Telegram listen to it too); the :class:`Hub` fans every event out to the
consoles connected to this process. Events
from every process arrive (Redis pub/sub), so an agent on process B sees a ticket a
shopper opened on process A. One subscription per process rather than per open tab,
because on Redis each subscription holds a connection from the client's pool for as long
as it lives. Frames are small (kind, ids, a few fields); the page re-reads whatever panel
an event touches through the JSON API. A console that cannot keep up gets
``{"type": "resync"}`` instead of an unbounded backlog, and re-reads everything.

The socket is also the presence heartbeat: while it is open and the agent chose online (or
away) their presence is renewed every HEARTBEAT seconds. A closed tab renews nothing, so
the presence TTL expires and the agent stops getting tickets without clicking "offline".

A browser sends cookies with a websocket from any site, so the Origin header must name
this host (cross-site websocket hijacking), and the session is checked before upgrading.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web

from bot.console.api import ROLES
from bot.console.errors import error_response
from bot.services import Services
from bot.web.keys import SERVICES, services_of
from bot.web.login import AUTH
from handoff import Event, HandoffError, HandoffUnavailable

log = logging.getLogger(__name__)

HEARTBEAT = 30.0
MAX_FRAME = 4096
#: Frames a console may fall behind before it is told to re-read everything instead.
BACKLOG = 500
#: Event kinds a console cares about (all of them today; listed so a new kind is a choice).
FORWARD = frozenset({
    "ticket_opened", "ticket_assigned", "ticket_transferred", "shopper_message",
    "agent_message", "note_added", "handed_back", "ticket_closed", "rated", "presence",
    "left_message",
})
#: Event data fields a frame carries (texts are cut: the page reads the ticket anyway).
DATA_FIELDS = ("skill", "priority", "reason", "summary", "shopper_name", "channel", "auto",
               "presence", "capacity", "outcome", "rating", "from_agent", "to_skill", "by")
PREVIEW = 120
RESYNC: dict[str, Any] = {"type": "resync"}

Frame = dict[str, Any]


def frame(event: Event) -> Frame:
    """The JSON frame for one event."""
    data = {k: event.data[k] for k in DATA_FIELDS if k in event.data}
    if isinstance(event.data.get("text"), str):
        data["text"] = event.data["text"][:PREVIEW]
    return {"type": "event", "kind": event.kind, "ticket": event.ticket_id,
            "conversation": event.conversation, "agent": event.agent, "data": data,
            "ts": event.ts}


class Hub:
    """The process's one handoff subscription, fanned out to each console's queue."""

    def __init__(self, backlog: int = BACKLOG) -> None:
        self.backlog = backlog
        self.queues: set[asyncio.Queue[Frame]] = set()

    def join(self) -> asyncio.Queue[Frame]:
        queue: asyncio.Queue[Frame] = asyncio.Queue(maxsize=self.backlog)
        self.queues.add(queue)
        return queue

    def leave(self, queue: asyncio.Queue[Frame]) -> None:
        self.queues.discard(queue)

    def publish(self, item: Frame) -> None:
        for queue in list(self.queues):
            if queue.full():  # too far behind: drop the backlog, ask for a full re-read
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(RESYNC)
            else:
                queue.put_nowait(item)

    async def on_event(self, event: Event) -> None:
        if event.kind in FORWARD:
            self.publish(frame(event))

    async def on_gap(self) -> None:
        """Events may have been missed: consoles re-read what they show."""
        self.publish(RESYNC)


SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("console_sockets", set)
HUB: web.AppKey[Hub] = web.AppKey("console_hub", Hub)


def origin_ok(request: web.Request) -> bool:
    """The page that opens the socket must come from this very host (and port)."""
    origin = request.headers.get("Origin")
    if not origin:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == request.host


async def socket(request: web.Request) -> web.StreamResponse:
    """One console: checks before the upgrade (an HTTP error a script can read), then
    events out, heartbeat while open, "ping" answered with "pong"."""
    session = await request.app[AUTH].session(request)
    if session is None:
        return error_response(401, "login", "log in first at /login")
    if session.role not in ROLES:
        return error_response(403, "forbidden", "this is for agents and managers")
    if not origin_ok(request):
        return error_response(403, "origin", "the Origin header must be this site")
    services = services_of(request)
    hub = request.app[HUB]
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME)
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    queue = hub.join()
    tasks: list[asyncio.Task[None]] = []
    try:
        await ws.send_json({"type": "hello", "agent": session.user})
        auth = request.app[AUTH]

        async def still_valid() -> bool:
            return await auth.session(request) is not None

        tasks = [asyncio.create_task(_send(queue, ws)),
                 asyncio.create_task(_heartbeat(services, session.user, ws, still_valid))]
        async for msg in ws:
            if msg.type == WSMsgType.TEXT and msg.data == "ping":
                await ws.send_str("pong")
            elif msg.type == WSMsgType.ERROR:
                log.info("console socket error: %s", ws.exception())
    finally:
        hub.leave(queue)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        request.app[SOCKETS].discard(ws)
    return ws


async def _send(queue: asyncio.Queue[Frame], ws: web.WebSocketResponse) -> None:
    """Write this console's frames in order; a gone socket just ends the task."""
    while not ws.closed:
        item = await queue.get()
        try:
            await ws.send_json(item)
        except (ConnectionError, RuntimeError):
            return


async def _heartbeat(services: Services, agent: str, ws: web.WebSocketResponse,
                     still_valid: Callable[[], Awaitable[bool]]) -> None:
    """Every HEARTBEAT seconds: check the account still holds (removed, demoted or a new
    password closes the socket: no more events, no presence) and renew the agent's chosen
    presence."""
    while True:
        try:
            if not await still_valid():
                log.info("console of %s closed: the session has ended", agent)
                await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"session ended")
                return
        except web.HTTPException:
            pass  # the account store is unreachable for a moment: keep the agent connected
        try:
            await services.handoff.renew_presence(agent)
        except (HandoffError, HandoffUnavailable) as exc:
            log.warning("console heartbeat for %s failed: %s", agent, exc)
        await asyncio.sleep(HEARTBEAT)


async def run_hub(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: the hub listens to the process's event feed while the app runs."""
    feed = app[SERVICES].events
    name = f"console-{id(app)}"
    if feed is not None:
        feed.listen(name, app[HUB].on_event, app[HUB].on_gap)
        await feed.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(feed.ready.wait(), 10)
    yield
    if feed is not None:
        await feed.unlisten(name)


async def close_all(app: web.Application) -> None:
    """On shutdown: close the consoles' sockets so the server stops at once."""
    sockets: set[web.WebSocketResponse] = app[SOCKETS]
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
