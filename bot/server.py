"""``kefu serve``: the web app (chat, health, console, editor) on one aiohttp server."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from bot.services import Services
from bot.web.app import create_app
from config import Settings

log = logging.getLogger(__name__)


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM; the library is checked before anything listens."""
    services = Services.build(settings)
    app = create_app(services)
    telegram = None
    if settings.telegram_token:
        # Imported only when configured: aiogram's types take seconds to import, which a
        # shop without Telegram should not wait for at every start.
        from bot.telegram import TelegramChannel

        telegram = TelegramChannel.from_settings(services)
    if telegram is not None:
        telegram.setup_web(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.web_host, settings.web_port)
    await site.start()
    store = type(services.store).__name__
    log.info("kefu for %s: web chat on http://%s:%d/chat (store: %s)",
             services.brains.current.shop_name,
             settings.web_host, settings.web_port, store)
    if telegram is None:
        log.info("telegram: off (set KEFU_TELEGRAM_TOKEN to enable)")
    else:
        await telegram.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await runner.cleanup()
        if telegram is not None:
            await telegram.stop()
        await services.close()
