"""Shared fixtures: settings on the default library, services, and a real Redis.

Redis tests use KEFU_TEST_REDIS_URL (default redis://127.0.0.1:6379/15) and a unique key
prefix per test. With KEFU_REQUIRE_REDIS=1 (CI) an unreachable Redis fails the test instead
of skipping it.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis as redis_sync
from redis import asyncio as aioredis

from bot.brain import Brain
from bot.services import Services
from bot.storage import MemoryConversationStore
from bot.storage.redis import RedisConversationStore
from config import Settings, load_settings
from scripts_zh.loader import load_library

REDIS_URL = os.environ.get("KEFU_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parent.parent
KEEP_ENV = ("KEFU_REQUIRE_REDIS", "KEFU_TEST_REDIS_URL", "KEFU_SCREENSHOTS")


def redis_available() -> bool:
    try:
        return bool(redis_sync.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except (redis_sync.RedisError, OSError):
        return False


def require_redis() -> None:
    """Skip without Redis, or fail when KEFU_REQUIRE_REDIS=1 (CI must really run these)."""
    if redis_available():
        return
    message = f"Redis not reachable at {REDIS_URL}"
    if os.environ.get("KEFU_REQUIRE_REDIS") == "1":
        pytest.fail(message + " and KEFU_REQUIRE_REDIS=1", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's KEFU_* settings."""
    for key in list(os.environ):
        if key.startswith("KEFU_") and key not in KEEP_ENV:
            monkeypatch.delenv(key, raising=False)
    # Fragments are answered at once in tests (and in the servers they start); the tests
    # of split messages set a pause of their own.
    monkeypatch.setenv("KEFU_MESSAGE_PAUSE", "0")


#: Business hours that never close, so tests do not depend on the time they run at.
ALWAYS_OPEN = json.dumps({"weekly": {day: ["00:00-24:00"] for day in
                                     ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
                          "breaks": []})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(shop_name="测试小铺", data_dir=tmp_path / "data",
                         hours=json.loads(ALWAYS_OPEN))




@pytest.fixture(scope="session")
def brain() -> Brain:
    """The default library, trained once per test session (training takes about a second)."""
    return Brain.build(load_library(load_settings().library_dir), "测试小铺")


@pytest.fixture
def services(settings: Settings, brain: Brain) -> Iterator[Services]:
    yield Services.build(settings, store=MemoryConversationStore(), brain=brain)


@pytest.fixture
def redis_prefix() -> str:
    return f"kefutest-{uuid.uuid4().hex[:10]}"


@asynccontextmanager
async def redis_client(prefix: str) -> AsyncIterator[aioredis.Redis]:
    """A client to the test Redis that deletes the test's keys afterwards."""
    require_redis()
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        keys = [k async for k in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@asynccontextmanager
async def redis_store(prefix: str) -> AsyncIterator[RedisConversationStore]:
    async with redis_client(prefix) as client:
        yield RedisConversationStore(client, prefix=prefix)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def login_token(http: aiohttp.ClientSession, site: str) -> tuple[dict[str, str],
                                                                       dict[str, str]]:
    """The login form's CSRF field and its cookie, as a browser gets them from GET /login:
    ``data={..., **fields}, cookies=cookies`` (sent explicitly: a default cookie jar keeps
    nothing from 127.0.0.1)."""
    async with http.get(site + "/login") as resp:
        assert resp.status == 200
        token = resp.cookies["kefu_login"].value
    return {"csrf": token}, {"kefu_login": token}


@asynccontextmanager
async def post_login(http: aiohttp.ClientSession, site: str, *, data: dict[str, str],
                     **kwargs: Any) -> AsyncIterator[aiohttp.ClientResponse]:
    """POST /login as the form does, with the CSRF token of a fresh GET /login."""
    fields, cookies = await login_token(http, site)
    async with http.post(site + "/login", data={**data, **fields}, cookies=cookies,
                         **kwargs) as resp:
        yield resp
