"""Two real bot processes on real Redis: publish on A, the web chat on B changes at once.

``python -m bot serve`` twice (own ports, own data folders, one Redis database), a manager
account made with ``kefu users add``, and Debian's chromium for the manager and the shopper.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

import aiohttp
import pytest
import redis as redis_sync
import yaml
from redis import asyncio as aioredis

from scripts_zh.renderer import render
from tests.browser import chromium
from tests.conftest import ROOT, free_port, require_redis
from tests.editor.helpers import PASSWORD
from tests.editor.steps import accept_dialogs, ask, edit_intent, log_in, publish, roll_back_to

pytestmark = [pytest.mark.browser, pytest.mark.redis]

#: A database of its own: kefu's keys have the fixed prefix ``kefu`` (override it when something
#: else, such as ``bench/handoff_latency.py``, is using database 13 at the same time).
REDIS_URL = os.environ.get("KEFU_TEST_EDITOR_REDIS_URL", "redis://127.0.0.1:6379/13")
SHOP = "测试小铺"
NEW = ["【新】亲，是纯棉的哦<script>window.pwned=1</script>",
       "【新】纯棉面料<script>window.pwned=2</script>，放心拍～"]


def _env(data_dir: Path, library: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(KEFU_REDIS_URL=REDIS_URL, KEFU_DATA_DIR=str(data_dir), KEFU_SHOP_NAME=SHOP,
               KEFU_LIBRARY_DIR=str(library), PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def redis13() -> Iterator[redis_sync.Redis]:
    """Database 13 without any library versions before and after the test."""
    require_redis()
    client = redis_sync.Redis.from_url(REDIS_URL)

    def clean() -> None:
        keys = [*client.scan_iter("kefu:library*"), "kefu:hits"]
        client.delete(*keys)

    clean()
    yield client
    clean()
    client.close()


@pytest.fixture
def manager(redis13: redis_sync.Redis, tmp_path: Path, small_library: Path) -> Iterator[str]:
    name = f"m{uuid.uuid4().hex[:8]}"
    done = subprocess.run([sys.executable, "-m", "bot", "users", "add", name, "--role", "manager",
                           "--password-stdin"], input=PASSWORD + "\n", text=True,
                          capture_output=True, env=_env(tmp_path / "cli", small_library), cwd=ROOT,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    yield name
    redis13.hdel("kefu:users", name)


def _spawn(data_dir: Path, library: Path) -> tuple[subprocess.Popen[bytes], IO[str], int]:
    port = free_port()
    data_dir.mkdir(parents=True)
    log = (data_dir / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)],
                            env=_env(data_dir, library), cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)
    return proc, log, port


def _stop(proc: subprocess.Popen[bytes], log: IO[str]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    log.close()


async def _healthy(url: str, proc: subprocess.Popen[bytes], log: IO[str]) -> None:
    deadline = time.monotonic() + 90
    async with aiohttp.ClientSession() as http:
        while True:
            assert proc.poll() is None, "bot process exited; see " + log.name
            try:
                async with http.get(url + "/health") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, "bot process did not start; see " + log.name
            await asyncio.sleep(0.2)


@asynccontextmanager
async def bot_processes(*data_dirs: Path, library: Path) -> AsyncIterator[list[str]]:
    """``python -m bot serve`` per folder, started together; yields their URLs once /health
    answers on every one."""
    spawned = [_spawn(d, library) for d in data_dirs]
    try:
        urls = [f"http://127.0.0.1:{port}" for _, _, port in spawned]
        await asyncio.gather(*[_healthy(url, proc, log)
                               for url, (proc, log, _) in zip(urls, spawned, strict=True)])
        yield urls
    finally:
        for proc, log, _ in spawned:
            _stop(proc, log)


async def _published_at(number: int) -> float:
    """When the library channel announces version ``number`` (the commit), monotonic time."""
    client = aioredis.Redis.from_url(REDIS_URL)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe("kefu:library:published")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if msg is not None and int(msg["data"]) == number:
                return time.monotonic()
        raise AssertionError(f"version {number} was never announced")
    finally:
        await pubsub.aclose()
        await client.aclose()


async def _wait_for_version(url: str, prefix: str, since: float) -> float:
    """Seconds from ``since`` until /health on ``url`` reports a library version ``prefix``."""
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - since < 10:
            async with http.get(url + "/health") as resp:
                if (await resp.json())["library"].startswith(prefix):
                    return time.monotonic() - since
            await asyncio.sleep(0.02)
    raise AssertionError(f"{url} did not switch to {prefix}")


async def test_publish_on_one_process_reaches_the_other(manager: str, tmp_path: Path,
                                                        small_library: Path) -> None:
    """On the small test library (see conftest) so the processes start and train quickly."""
    shipped = yaml.safe_load((small_library / "intents" / "presale.yaml").read_text())
    old = [render(t, {"shop_name": SHOP, "customer_name": "", "slots": {}})
           for t in shipped["replies"]]
    t0 = time.monotonic()
    async with bot_processes(tmp_path / "a", tmp_path / "b", library=small_library) as urls, \
            chromium() as browser:
        a, b = urls
        print(f"\ntwo bot processes up in {time.monotonic() - t0:.1f} s")
        editor = await browser.new_page(viewport={"width": 1280, "height": 900})
        accept_dialogs(editor)
        await log_in(editor, a, manager)
        await edit_intent(editor, a, "presale", "这件衣服是什么面料的", NEW)
        shopper = await browser.new_page()
        await shopper.goto(b + "/chat")
        await shopper.locator(".msg--bot").first.wait_for()

        committed = asyncio.create_task(_published_at(1))
        await asyncio.sleep(0.1)  # subscribed
        started = time.monotonic()
        assert await publish(editor, "two processes") == 1
        at = await committed
        latency = await _wait_for_version(b, "v1-", at)
        print(f"\npublish on A: {at - started:.1f} s to train and commit; process B switched "
              f"{latency * 1000:.0f} ms after the commit")
        assert latency < 1.0
        said = await ask(shopper, "有什么推荐的吗", ["【新】"])
        assert "<script>" in said  # shown as text, never run
        assert await shopper.evaluate("window.pwned === undefined")

        assert await roll_back_to(editor, a, 0) == 2
        await _wait_for_version(b, "v2-", time.monotonic())
        assert "【新】" not in await ask(shopper, "有什么推荐的吗？", old)
