"""The Telegram channel of one bot process: Bot API client, dispatcher, intake, sender.

Lifecycle, as ``kefu serve`` uses it::

    telegram = TelegramChannel.from_settings(services)   # None without a token
    telegram.setup_web(app)       # before the app starts: adds the webhook route, if any
    await telegram.start()        # registers the outbox, then polls or sets the webhook
    ...
    await telegram.stop()         # stops intake, finishes queued work, closes the session

Routers: the shoppers' router is included by default; later features add theirs with
:meth:`include_router` before :meth:`start` (allowed update types are resolved then).
Handlers get ``services``, ``sender`` (the flood-limited queue) and ``telegram`` (this
object) from the dispatcher's workflow data. With KEFU_TELEGRAM_AGENT_CHAT set, the agents'
desk (``agents.AgentDesk``: topics per ticket, the agents' router, ``desk`` in the workflow
data) starts and stops with the channel.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from typing import Literal

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.types import User
from aiogram.utils.token import TokenValidationError
from aiohttp import web

from bot.services import Services
from bot.telegram import shoppers
from bot.telegram.agents import AgentDesk
from bot.telegram.dedupe import MemoryUpdateDedupe, UpdateDedupe, make_dedupe
from bot.telegram.intake import Intake
from bot.telegram.outbox import TelegramOutbox
from bot.telegram.polling import Poller
from bot.telegram.sender import FloodLimits, TelegramSender
from bot.telegram.webhook import check_secret, handler, webhook_path, webhook_url
from config import SettingsError

log = logging.getLogger(__name__)

CHANNEL = "telegram"
Mode = Literal["polling", "webhook"]


class TelegramChannel:
    """Owns everything Telegram in this process; see the module docstring for the order."""

    def __init__(self, services: Services, token: str, *, api_url: str | None = None,
                 webhook: str | None = None, webhook_secret: str | None = None,
                 dedupe: UpdateDedupe | None = None, limits: FloodLimits | None = None,
                 polling_timeout: int = 25, routers: Sequence[Router] | None = None) -> None:
        session = (AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url
                   else AiohttpSession())
        self.services = services
        self.api_url = api_url
        self.bot = Bot(token, session=session)
        self.sender = TelegramSender(self.bot, limits)
        self.outbox = TelegramOutbox(self.sender)
        self.dispatcher = Dispatcher(disable_fsm=True, services=services, sender=self.sender,
                                     telegram=self)
        self.intake = Intake(self.bot, self.dispatcher, dedupe or MemoryUpdateDedupe())
        self.mode: Mode = "webhook" if webhook else "polling"
        self.webhook_url = webhook_url(webhook) if webhook else None
        self.webhook_secret = (check_secret(webhook_secret) if webhook_secret
                               else secrets.token_urlsafe(32))
        self.polling_timeout = polling_timeout
        self.poller: Poller | None = None
        self.me: User | None = None
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        for router in routers if routers is not None else [shoppers.router()]:
            self.dispatcher.include_router(router)
        agent_chat = services.settings.telegram_agent_chat
        #: The agents' forum group (KEFU_TELEGRAM_AGENT_CHAT), when there is one.
        self.desk = AgentDesk(services, self.bot, self.sender, agent_chat) if agent_chat else None
        if self.desk is not None:
            self.dispatcher["desk"] = self.desk
            self.dispatcher.include_router(self.desk.router())

    @classmethod
    def from_settings(cls, services: Services, *, dedupe: UpdateDedupe | None = None,
                      limits: FloodLimits | None = None,
                      polling_timeout: int = 25) -> TelegramChannel | None:
        """The channel configured by KEFU_TELEGRAM_*, or None when no token is set."""
        settings = services.settings
        token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
        if not token:
            return None
        secret = settings.telegram_webhook_secret
        try:
            return cls(services, token, api_url=settings.telegram_api_url or None,
                       webhook=settings.telegram_webhook_url or None,
                       webhook_secret=secret.get_secret_value() if secret else None,
                       dedupe=dedupe or make_dedupe(services.backend), limits=limits,
                       polling_timeout=polling_timeout)
        except TokenValidationError:
            raise SettingsError("KEFU_TELEGRAM_TOKEN: not a bot token (BotFather gives one "
                                "like 123456789:AAH…)") from None
        except ValueError as exc:
            raise SettingsError(str(exc)) from None

    def include_router(self, router: Router) -> None:
        """Add a feature's router (before :meth:`start`)."""
        self.dispatcher.include_router(router)

    @property
    def where(self) -> str:
        """The mode as the start-up log states it."""
        return "long polling" if self.mode == "polling" else f"webhook at {self.webhook_url}"

    def setup_web(self, app: web.Application) -> None:
        """Add the webhook route to the (not yet started) app; nothing in polling mode."""
        if self.webhook_url:
            app.router.add_post(webhook_path(self.webhook_url),
                                handler(self.intake, self.webhook_secret))

    async def start(self) -> None:
        """Register the outbox and connect in the background: a Telegram that cannot be
        reached yet is retried, and never keeps the web chat from starting."""
        self.services.channels.register(CHANNEL, self.outbox)
        if self.desk is not None:
            await self.desk.start()
        api = f" via {self.api_url}" if self.api_url else ""
        log.info("telegram: %s%s", self.where, api)
        self._task = asyncio.create_task(self._run(), name="telegram")

    async def _run(self) -> None:
        delay = 1.0
        while self.me is None:
            try:
                self.me = await self.bot.get_me()
            except TelegramUnauthorizedError:
                log.error("telegram: the token was rejected (401); Telegram is off")
                return
            except Exception as exc:
                log.warning("telegram: cannot reach the Bot API (%s); retrying in %.0fs",
                            exc, delay)
                await asyncio.sleep(delay)
                delay = min(30.0, delay * 2)
        allowed = self.dispatcher.resolve_used_update_types()
        while True:
            try:
                if self.webhook_url:
                    await self.bot.set_webhook(self.webhook_url, secret_token=self.webhook_secret,
                                               allowed_updates=allowed,
                                               drop_pending_updates=False)
                else:
                    await self.bot.delete_webhook(drop_pending_updates=False)
                break
            except TelegramUnauthorizedError:
                log.error("telegram: the token was rejected (401); Telegram is off")
                return
            except Exception as exc:
                log.warning("telegram: %s failed (%s); retrying in %.0fs",
                            "setWebhook" if self.webhook_url else "deleteWebhook", exc, delay)
                await asyncio.sleep(delay)
                delay = min(30.0, delay * 2)
        log.info("telegram: running as @%s (%s)", self.me.username, self.where)
        self.ready.set()
        if self.mode == "polling":
            self.poller = Poller(self.bot, self.intake, allowed, timeout=self.polling_timeout)
            await self.poller.run()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking updates, finish what was taken and send what is queued (each up to
        ``grace`` seconds), then close. The webhook stays set: Telegram keeps updates meanwhile."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if not await self.intake.lanes.close(grace):
            log.warning("telegram: updates still being handled at shutdown were abandoned")
        if self.desk is not None:
            await self.desk.stop(grace)
        if self.poller is not None:
            await self.poller.confirm()
        await self.sender.close(grace)
        await self.intake.dedupe.close()
        await self.bot.session.close()
