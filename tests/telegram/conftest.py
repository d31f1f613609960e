"""Fixtures for the Telegram tests: a fake Bot API server and a channel running against it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.brain import Brain
from bot.services import Services
from bot.storage import MemoryConversationStore
from bot.telegram import FloodLimits, TelegramChannel
from bot.turn import Incoming
from config import Settings
from tests.fake_telegram import TOKEN, FakeTelegram


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@asynccontextmanager
async def running(services: Services, tg: FakeTelegram, **options: Any
                  ) -> AsyncIterator[TelegramChannel]:
    """A started channel (long polling unless ``webhook=``), stopped afterwards. Flood limits
    are off unless the test passes ``limits=``: most tests are not about them."""
    options.setdefault("limits", FloodLimits.off())
    options.setdefault("polling_timeout", 1)
    channel = TelegramChannel(services, TOKEN, api_url=tg.url, **options)
    await channel.start()
    await asyncio.wait_for(channel.ready.wait(), 10)
    try:
        yield channel
    finally:
        await channel.stop(grace=5)


class Reference:
    """The engine on its own (a fresh store): what a chat should see, text by text."""

    def __init__(self, settings: Settings, brain: Brain, chat_id: int, name: str) -> None:
        self.services = Services.build(settings, store=MemoryConversationStore(), brain=brain)
        self.chat_id = str(chat_id)
        self.name = name

    async def welcome(self) -> list[str]:
        return [r.text for r in await self.services.engine.welcome("telegram", self.chat_id,
                                                                   self.name)]

    async def say(self, text: str = "", kind: Any = "text") -> list[str]:
        turn = await self.services.engine.handle(Incoming(
            channel="telegram", chat_id=self.chat_id, text=text, kind=kind,
            display_name=self.name))
        return [r.text for r in turn.replies]
