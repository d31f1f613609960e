"""The shoppers' web chat: a page and a websocket speaking small JSON frames.

Client → server: ``{"type": "message", "text": "..."}``.
Server → client: ``{"type": "reply", "text": "...", "buttons": [...], "from": "bot"}`` and
``{"type": "status", "status": "bot|waiting|agent|closed"}``. A bad frame gets an
``{"type": "error", "code": ...}`` frame, never a closed socket or a traceback.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import defaultdict
from collections.abc import Sequence

import aiohttp_jinja2
from aiohttp import WSMsgType, web

from bot.channels import SentBy
from bot.services import Services
from bot.storage import StoreUnavailable
from bot.text_clean import clean_text, load_json
from bot.turn import Incoming, Reply
from bot.web.keys import SERVICES

log = logging.getLogger(__name__)

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_FRAME = 64 * 1024
REPLAY = 50

SOCKETS: web.AppKey[dict[str, set[web.WebSocketResponse]]] = web.AppKey("chat_sockets", dict)


@aiohttp_jinja2.template("chat.html")
async def page(request: web.Request) -> dict[str, object]:
    services = request.app[SERVICES]
    return {"shop_name": services.brains.current.shop_name}


def _frame(reply: Reply, sender: str = "bot", who: str | None = None) -> dict[str, object]:
    frame: dict[str, object] = {"type": "reply", "text": reply.text,
                                "buttons": list(reply.buttons), "from": sender}
    if who:
        frame["who"] = who
    return frame


class WebOutbox:
    """Delivers agent-side messages to the shopper's open tabs in this process."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    async def deliver(self, chat_id: str, replies: Sequence[Reply], *, sender: SentBy = "bot",
                      agent_name: str | None = None, status: str | None = None) -> bool:
        sent = 0
        for reply in replies:
            sent += await push(self.app, chat_id, _frame(reply, sender, agent_name))
        if status:
            sent += await push(self.app, chat_id, {"type": "status", "status": status})
        return sent > 0


async def push(app: web.Application, chat_id: str, frame: dict[str, object]) -> int:
    """Send a frame to every open tab of a shopper; returns how many received it."""
    sent = 0
    for ws in list(app[SOCKETS].get(chat_id, ())):
        if not ws.closed:
            try:
                await ws.send_json(frame)
                sent += 1
            except (ConnectionError, RuntimeError):
                log.info("a chat socket went away while sending")
    return sent


async def _front_door(_: web.Request) -> web.Response:
    """The site's front door is the shoppers' chat."""
    raise web.HTTPFound("/chat")


async def socket(request: web.Request) -> web.WebSocketResponse:
    services = request.app[SERVICES]
    chat_id = request.query.get("cid", "")
    if not CLIENT_ID.match(chat_id):
        chat_id = secrets.token_urlsafe(12)
    name = clean_text(request.query.get("name", ""))[:40]
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME)
    await ws.prepare(request)
    request.app[SOCKETS][chat_id].add(ws)
    try:
        await ws.send_json({"type": "hello", "cid": chat_id})
        state = await services.store.load(f"web:{chat_id}")
        if state is None or not state.welcomed:
            for reply in await services.engine.welcome("web", chat_id, name):
                await ws.send_json(_frame(reply))
        else:
            await _replay(ws, services, chat_id)
            await ws.send_json({"type": "status", "status": state.status})
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await _on_text(request.app, ws, chat_id, name, msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_json({"type": "error", "code": "binary_frame"})
            elif msg.type == WSMsgType.ERROR:
                log.info("chat socket error: %s", ws.exception())
    finally:
        request.app[SOCKETS][chat_id].discard(ws)
        if not request.app[SOCKETS][chat_id]:
            request.app[SOCKETS].pop(chat_id, None)
    return ws


async def _replay(ws: web.WebSocketResponse, services: Services, chat_id: str) -> None:
    """A reconnecting tab gets the conversation so far, so nothing said while away is lost."""
    try:
        entries = await services.store.transcript(f"web:{chat_id}", last=REPLAY)
    except StoreUnavailable:
        return
    await ws.send_json({"type": "history", "entries": [
        {"from": {"shopper": "me"}.get(e.role, e.role), "text": e.text, "who": e.author}
        for e in entries if e.role in ("shopper", "bot", "agent")]})


async def _on_text(app: web.Application, ws: web.WebSocketResponse, chat_id: str, name: str,
                   data: str) -> None:
    services = app[SERVICES]
    try:
        frame = load_json(data)
    except ValueError:
        await ws.send_json({"type": "error", "code": "bad_json"})
        return
    if not isinstance(frame, dict) or frame.get("type") != "message":
        await ws.send_json({"type": "error", "code": "bad_frame"})
        return
    text = frame.get("text")
    kind = frame.get("kind", "text")
    if not isinstance(text, str) or kind not in ("text", "photo", "document", "other"):
        await ws.send_json({"type": "error", "code": "bad_frame"})
        return
    async def answer(said: str) -> None:
        turn = await services.engine.handle(
            Incoming(channel="web", chat_id=chat_id, text=said, kind=kind, display_name=name))
        if ws.closed:
            return  # the transcript keeps the answer; a reconnecting tab replays it
        for reply in turn.replies:
            await ws.send_json(_frame(reply))
        await ws.send_json({"type": "status", "status": turn.status})

    text = clean_text(text)
    if kind != "text":
        services.coalescer.flush(("web", chat_id))
        await answer(text)
        return
    services.coalescer.add(("web", chat_id), text, answer)


def setup(app: web.Application) -> None:
    app[SERVICES].channels.register("web", WebOutbox(app), everywhere=True)
    sockets: dict[str, set[web.WebSocketResponse]] = defaultdict(set)
    app[SOCKETS] = sockets
    app.router.add_get("/", _front_door)
    app.router.add_get("/chat", page)
    app.router.add_get("/ws/chat", socket)
