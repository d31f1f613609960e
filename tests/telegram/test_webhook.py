"""Webhook mode: the fake Bot API POSTs updates to kefu's own aiohttp app, secret checked."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.brain import Brain
from bot.services import Services
from bot.telegram import FloodLimits, TelegramChannel
from bot.telegram.dedupe import RedisUpdateDedupe
from bot.web.app import create_app
from config import Settings, SettingsError, load_settings
from tests.conftest import free_port, redis_client
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.telegram.conftest import Reference

SECRET = "s3cret-Token_for-tests"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


@asynccontextmanager
async def webhook_mode(services: Services, tg: FakeTelegram, path: str = "/telegram/webhook",
                       secret: str | None = SECRET) -> AsyncIterator[TelegramChannel]:
    """kefu's web app with the webhook route, as ``kefu serve`` builds it."""
    port = free_port()
    channel = TelegramChannel(services, TOKEN, api_url=tg.url,
                              webhook=f"http://127.0.0.1:{port}{path}", webhook_secret=secret,
                              limits=FloodLimits.off())
    app = create_app(services)
    channel.setup_web(app)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await channel.start()
    await asyncio.wait_for(channel.ready.wait(), 10)
    try:
        yield channel
    finally:
        await runner.cleanup()
        await channel.stop(grace=5)


async def post(url: str, body: bytes, secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[HEADER] = secret
    async with aiohttp.ClientSession() as http, http.post(url, data=body,
                                                          headers=headers) as resp:
        return resp.status


def update(tg: FakeTelegram, chat_id: int, text: str) -> dict[str, Any]:
    """A message update that is not queued in the fake (the test posts it itself)."""
    return {"update_id": tg.next_update_id(), "message": {
        "message_id": tg.next_update_id(), "date": 1, "chat": tg.chat(chat_id),
        "from": tg.user(chat_id), "text": text}}


async def test_webhook_mode(services: Services, settings: Settings, brain: Brain,
                            tg: FakeTelegram) -> None:
    ref = Reference(settings, brain, 1101, "小明")
    expected = await ref.welcome() + await ref.say("你好") + await ref.say("发货了吗")
    async with webhook_mode(services, tg) as channel:
        assert channel.mode == "webhook" and channel.where.startswith("webhook at http://")
        assert tg.webhook is not None and tg.webhook["secret_token"] == SECRET
        assert tg.webhook["url"] == channel.webhook_url
        assert "message" in tg.webhook["allowed_updates"]
        tg.text(1101, "你好")
        tg.text(1101, "发货了吗")
        assert await tg.wait_texts(1101, len(expected)) == expected
    assert not tg.called("getUpdates") and not tg.called("deleteWebhook")
    assert set(tg.webhook_responses) == {200}


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET[:-1]])
async def test_wrong_or_missing_secret_is_401(services: Services, tg: FakeTelegram,
                                              secret: str | None) -> None:
    async with webhook_mode(services, tg) as channel:
        url = channel.webhook_url or ""
        body = json.dumps(update(tg, 1102, "我要退款")).encode()
        assert await post(url, body, secret) == 401
        await asyncio.sleep(0.2)
        assert tg.sent(1102) == [] and channel.intake.lanes.pending == 0
        assert await post(url, body, SECRET) == 200
        await tg.wait_texts(1102, 2)
    assert await services.store.load("telegram:1102") is not None


async def test_garbage_never_crashes(services: Services, tg: FakeTelegram) -> None:
    async with webhook_mode(services, tg) as channel:
        url = channel.webhook_url or ""
        assert await post(url, b"{not json", SECRET) == 400
        assert await post(url, b"\xff\xfe\x00", SECRET) == 400
        assert await post(url, b"", SECRET) == 400
        for junk in ('"a string"', "[1, 2]", "null", '{"update_id": "x"}',
                     '{"update_id": 5, "message": {"text": "no chat"}}',
                     '{"update_id": 6, "brand_new_kind": {}}'):
            assert await post(url, junk.encode(), SECRET) == 200
        same = json.dumps(update(tg, 1103, "你好")).encode()
        assert await post(url, same, SECRET) == 200
        assert await post(url, same, SECRET) == 200  # Telegram redelivers: handled once
        await tg.wait_texts(1103, 2)
        await asyncio.sleep(0.3)
        assert channel.intake.malformed == 5 and channel.intake.duplicates == 1
    log = await services.store.transcript("telegram:1103")
    assert [e.text for e in log if e.role == "shopper"] == ["你好"]


async def test_url_without_path_and_generated_secret(services: Services,
                                                     tg: FakeTelegram) -> None:
    async with webhook_mode(services, tg, path="", secret=None) as channel:
        assert (channel.webhook_url or "").endswith("/telegram/webhook")
        assert tg.webhook is not None and len(tg.webhook["secret_token"]) >= 32
        tg.text(1104, "你好")
        await tg.wait_texts(1104, 2)


def test_settings_mistakes_are_named(services: Services) -> None:
    services.settings = load_settings(telegram_token="not-a-token")
    with pytest.raises(SettingsError, match="KEFU_TELEGRAM_TOKEN"):
        TelegramChannel.from_settings(services)
    services.settings = load_settings(telegram_token=TOKEN,
                                      telegram_webhook_url="https://shop.example/tg",
                                      telegram_webhook_secret="has spaces!")
    with pytest.raises(SettingsError, match="KEFU_TELEGRAM_WEBHOOK_SECRET"):
        TelegramChannel.from_settings(services)
    services.settings = load_settings()
    assert TelegramChannel.from_settings(services) is None


@pytest.mark.redis
async def test_two_processes_share_the_redis_dedupe(services: Services, tg: FakeTelegram,
                                                    redis_prefix: str) -> None:
    """Two bot processes behind one webhook (a load balancer retried on the other one):
    the update is handled by one of them, once."""
    async with redis_client(redis_prefix) as client:
        channels = [TelegramChannel(services, TOKEN, api_url=tg.url, limits=FloodLimits.off(),
                                    dedupe=RedisUpdateDedupe(client, prefix=redis_prefix))
                    for _ in range(2)]
        raw = update(tg, 1105, "你好")
        for channel in channels:
            assert channel.intake.submit(raw)
        await tg.wait_texts(1105, 2)
        for channel in channels:
            await channel.intake.lanes.join(5)
            await channel.stop(grace=5)
        assert sum(c.intake.duplicates for c in channels) == 1
    log = await services.store.transcript("telegram:1105")
    assert [e.text for e in log if e.role == "shopper"] == ["你好"]


async def test_a_lone_surrogate_is_cleaned_at_intake(services: Services, tg: FakeTelegram) -> None:
    async with webhook_mode(services, tg) as channel:
        url = channel.webhook_url or ""
        body = json.dumps(update(tg, 1106, "\ud83d 好的\x07")).encode()
        assert await post(url, body, SECRET) == 200
        await tg.wait_texts(1106, 2)
        await channel.intake.lanes.join(5)
    log = await services.store.transcript("telegram:1106")
    assert [e.text for e in log if e.role == "shopper"] == ["\ufffd 好的"]


async def test_deep_json_and_bad_utf8_are_a_400(services: Services, tg: FakeTelegram) -> None:
    async with webhook_mode(services, tg) as channel:
        url = channel.webhook_url or ""
        for body in (b"[" * 100_000 + b"]" * 100_000,
                     b'{"update_id": 7, "message": ' + b"[" * 50 + b"]" * 50 + b"}",
                     b'{"update_id": 8, "message": {"text": "\xed\xa0\xbd"}}'):
            assert await post(url, body, SECRET) == 400, body[:40]
        same = json.dumps(update(tg, 1107, "你好")).encode()
        assert await post(url, same, SECRET) == 200
        await tg.wait_texts(1107, 2)
