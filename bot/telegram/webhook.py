"""Webhook mode (production): Telegram POSTs each update to our aiohttp app.

Telegram sends the secret given to setWebhook in ``X-Telegram-Bot-Api-Secret-Token``; a
request without the right one is answered 401 and never reaches the intake, so nobody who
guesses the URL can pose as a shopper. A body that is not JSON gets 400. A JSON object
that is not a usable update gets 200 all the same: Telegram would only resend it.
Updates are queued and answered at once; replies go out through the sender.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web

from bot.telegram.intake import Intake
from bot.text_clean import load_json

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_PATH = "/telegram/webhook"
#: What Telegram accepts as a secret token.
SECRET_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def webhook_url(url: str) -> str:
    """The URL as given, with ``/telegram/webhook`` when it names no path."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        parts = parts._replace(path=DEFAULT_PATH)
    return urlunsplit(parts)


def webhook_path(url: str) -> str:
    """The route our app serves: the URL's path (a proxy in front must keep it)."""
    return urlsplit(webhook_url(url)).path


def check_secret(secret: str) -> str:
    if not SECRET_CHARS.match(secret):
        raise ValueError("KEFU_TELEGRAM_WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, "
                         "_ and - (Telegram's rule)")
    return secret


def handler(intake: Intake,
            secret: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for the webhook route."""
    expected = secret.encode()

    async def receive(request: web.Request) -> web.StreamResponse:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("telegram: webhook request from %s without the right secret; refused",
                        request.remote)
            return web.Response(status=401, text="unauthorized")
        try:
            raw = load_json(await request.read())
        except ValueError:
            log.warning("telegram: webhook body is not JSON; refused")
            return web.Response(status=400, text="bad request")
        try:
            intake.submit(raw)
        except RuntimeError:  # shutting down: Telegram will deliver it again later
            return web.Response(status=503, text="shutting down")
        return web.Response(status=200)

    return receive
