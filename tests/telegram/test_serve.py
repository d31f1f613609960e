"""``kefu serve`` with KEFU_TELEGRAM_TOKEN: a real process against the fake Bot API.

Webhook mode, the production one, runs end to end here (the fake POSTs to kefu's own web
server); long polling runs in-process in the other tests, and both modes go through the
same ``from_settings`` → ``setup_web`` → ``start`` → ``stop`` path in ``serve``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.services import Services
from bot.telegram import TelegramChannel
from config import load_settings
from tests.conftest import ROOT, free_port
from tests.fake_telegram import TOKEN, FakeTelegram


async def _line(stream: asyncio.StreamReader, needle: str, seen: list[str]) -> str:
    while True:
        raw = await stream.readline()
        if not raw:
            raise AssertionError("kefu serve exited:\n" + "".join(seen[-30:]))
        line = raw.decode(errors="replace")
        seen.append(line)
        if needle in line:
            return line


async def _drain(stream: asyncio.StreamReader, seen: list[str]) -> None:
    while raw := await stream.readline():
        seen.append(raw.decode(errors="replace"))


async def test_kefu_serve_runs_telegram_by_webhook(tmp_path: Path, tg: FakeTelegram) -> None:
    web_port = free_port()
    hook = f"http://127.0.0.1:{web_port}/tg/hook"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(KEFU_TELEGRAM_TOKEN=TOKEN, KEFU_TELEGRAM_API_URL=tg.url,
               KEFU_WEB_PORT=str(web_port), KEFU_DATA_DIR=str(tmp_path / "data"),
               KEFU_SHOP_NAME="测试小铺", KEFU_TELEGRAM_WEBHOOK_URL=hook,
               KEFU_TELEGRAM_WEBHOOK_SECRET="serve-secret")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    seen: list[str] = []
    drain: asyncio.Task[None] | None = None
    try:
        await asyncio.wait_for(_line(proc.stderr, f"telegram: webhook at {hook}", seen), 120)
        drain = asyncio.create_task(_drain(proc.stderr, seen))
        tg.text(1201, "/start")
        welcome = await tg.wait_texts(1201, 1, within=30)
        assert "测试小铺" in welcome[0]
        assert tg.webhook == {"url": hook, "secret_token": "serve-secret",
                              "allowed_updates": ["callback_query", "message"]}
        assert not tg.called("getUpdates")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        if drain is not None:
            await asyncio.wait_for(drain, 5)
    log = "".join(seen)
    assert "Traceback" not in log, log
    assert "shutting down" in log


async def test_start_logs_long_polling(services: Services, tg: FakeTelegram,
                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.telegram")
    services.settings = load_settings(telegram_token=TOKEN, telegram_api_url=tg.url)
    channel = TelegramChannel.from_settings(services)
    assert channel is not None and channel.mode == "polling"
    await channel.start()
    try:
        await asyncio.wait_for(channel.ready.wait(), 10)
        await tg.wait_polling()
        assert services.channels.get("telegram") is channel.outbox
    finally:
        await channel.stop(grace=5)
    assert f"telegram: long polling via {tg.url}" in caplog.text
    assert tg.called("deleteWebhook")[0].params == {"drop_pending_updates": False}


async def test_unreachable_api_is_retried_not_fatal(services: Services,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.telegram")
    port = free_port()
    channel = TelegramChannel(services, TOKEN, api_url=f"http://127.0.0.1:{port}")
    await channel.start()
    await asyncio.sleep(0.5)
    assert not channel.ready.is_set()
    async with FakeTelegram(port=port) as tg:  # the Bot API comes up later, on that port
        await asyncio.wait_for(channel.ready.wait(), 10)
        tg.text(1202, "你好")
        await tg.wait_texts(1202, 2)
        await channel.stop(grace=5)
    assert "cannot reach the Bot API" in caplog.text
