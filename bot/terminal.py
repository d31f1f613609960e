"""``kefu chat``: the bot in a terminal, or fed shopper lines on stdin (one per line)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime

from bot.services import Services
from bot.storage import MemoryConversationStore
from bot.turn import Incoming, Turn
from config import Settings, SettingsError


def shop_clock(settings: Settings, at: str | None) -> Callable[[], float]:
    """Real time, or a clock that starts at ``at`` (shop-local) and runs on from there."""
    if not at:
        return time.time
    try:
        start = datetime.fromisoformat(at.strip()).replace(tzinfo=settings.tz).timestamp()
    except ValueError:
        raise SettingsError(f'--at: expected a time like "2026-11-25 23:30", got {at!r}') from None
    origin = time.time()
    return lambda: start + (time.time() - origin)


async def run_chat(settings: Settings, *, as_json: bool, at: str | None, name: str) -> int:
    clock = shop_clock(settings, at)
    services = Services.build(settings, store=MemoryConversationStore(), clock=clock)
    interactive = sys.stdin.isatty() and not as_json
    chat_id = "terminal"
    try:
        welcome = await services.engine.welcome("cli", chat_id, name)
        if as_json:
            _emit(Turn(text="", replies=welcome, action="action_greet"))
        else:
            for reply in welcome:
                _say(reply.text, reply.buttons)
        loop = asyncio.get_running_loop()
        while True:
            if interactive:
                print("you> ", end="", flush=True)
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            text = line.rstrip("\r\n")
            if interactive and not text.strip():
                continue
            turn = await services.engine.handle(
                Incoming(channel="cli", chat_id=chat_id, text=text, display_name=name))
            if as_json:
                _emit(turn)
            else:
                for reply in turn.replies:
                    _say(reply.text, reply.buttons)
                if turn.status != "bot":
                    print(f"      [{turn.status}]", flush=True)
    finally:
        await services.close()
    return 0


def _emit(turn: Turn) -> None:
    print(json.dumps(turn.as_json(), ensure_ascii=False), flush=True)


def _say(text: str, buttons: tuple[str, ...]) -> None:
    print(f"bot> {text}", flush=True)
    if buttons:
        print("      " + "  ".join(f"[{b}]" for b in buttons), flush=True)
