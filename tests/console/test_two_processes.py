"""Two real ``python -m bot serve`` processes sharing one Redis, as in production.

A shopper chats with process A; agents use the console on process B (and A). The queue, the
claim race, the relay of replies, closing with the rating question and presence must all
cross the process boundary through Redis (state plus pub/sub), never through memory.

Both processes use kefu's fixed key prefix ``kefu``, so they get a database of their own
(``KEFU_TEST_CONSOLE_REDIS_URL``, default db 12) whose ``kefu:*`` keys are deleted before
and after. Two test runs at once (two developers on one machine) would wipe each other's
keys, so a run holds a lock key in that database (outside ``kefu:*``) while it uses it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis import asyncio as aioredis

from tests.conftest import ROOT, free_port, require_redis
from tests.console.helpers import AgentClient, next_event

pytestmark = pytest.mark.redis

REDIS_URL = os.environ.get("KEFU_TEST_CONSOLE_REDIS_URL", "redis://127.0.0.1:6379/12")
START_TIMEOUT = 120.0
STEP = 20.0
PASSWORD = "correct horse"
LOCK = "kefutest-console-two-processes-lock"
LOCK_TTL = 300
LOCK_WAIT = 320.0


@dataclass
class Cluster:
    a: str
    b: str
    logs: list[Path]

    def tail(self) -> str:
        return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
                         for p in self.logs if p.exists())


async def _clean(redis: aioredis.Redis) -> None:
    keys = [k async for k in redis.scan_iter("kefu:*", count=500)]
    if keys:
        await redis.delete(*keys)


def _env(tmp_path: Path, name: str, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update({"KEFU_REDIS_URL": REDIS_URL, "KEFU_SECRET_KEY": secret,
                "KEFU_DATA_DIR": str(tmp_path / name), "PYTHONUNBUFFERED": "1"})
    return env


async def _healthy(url: str, proc: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(START_TIMEOUT), aiohttp.ClientSession() as http:
        while True:
            assert proc.returncode is None, "the bot process exited during start-up"
            try:
                async with http.get(url + "/health") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)


@asynccontextmanager
async def _exclusive(redis: aioredis.Redis) -> AsyncIterator[None]:
    """Hold the database's lock (waiting for another run to finish, up to LOCK_WAIT)."""
    token = secrets.token_hex(8)
    async with asyncio.timeout(LOCK_WAIT):
        while True:
            if await redis.set(LOCK, token, nx=True, ex=LOCK_TTL):
                break
            await asyncio.sleep(0.5)
    try:
        yield
    finally:
        if await redis.get(LOCK) == token.encode():
            await redis.delete(LOCK)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    require_redis()
    redis = aioredis.Redis.from_url(REDIS_URL)
    try:
        async with _exclusive(redis):
            async for cluster in _cluster(tmp_path, redis):
                yield cluster
    finally:
        await redis.aclose()


async def _cluster(tmp_path: Path, redis: aioredis.Redis) -> AsyncIterator[Cluster]:
    await _clean(redis)
    secret = secrets.token_urlsafe(32)
    for name in ("amy", "bob"):  # as an admin would: the CLI, into the shared Redis
        cli = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "users", "add", name, "--role", "agent",
            "--password-stdin", cwd=ROOT, env=_env(tmp_path, "cli", secret),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(cli.communicate((PASSWORD + "\n").encode()), 60)
        assert cli.returncode == 0, err.decode()
        assert f"added {name} (agent)" in out.decode()
    procs: list[asyncio.subprocess.Process] = []
    urls, logs = [], []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = tmp_path / f"bot-{name}.log"
            with log.open("wb") as sink:
                procs.append(await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port",
                    str(port), cwd=ROOT, env=_env(tmp_path, name, secret),
                    stdout=sink, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
            logs.append(log)
        cluster = Cluster(urls[0], urls[1], logs)
        try:
            await asyncio.gather(*(_healthy(u, p) for u, p in zip(urls, procs, strict=True)))
        except (AssertionError, TimeoutError):
            pytest.fail("bot processes did not start:\n" + cluster.tail(), pytrace=False)
        yield cluster
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await _clean(redis)


async def _frames_until(ws: aiohttp.ClientWebSocketResponse, want: Any) -> list[dict[str, Any]]:
    """Shopper frames up to and including the first one ``want`` accepts."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(STEP):
        while True:
            frame = await ws.receive_json()
            seen.append(frame)
            if want(frame):
                return seen


async def test_two_bot_processes_share_queue_claims_relay_and_presence(cluster: Cluster
                                                                      ) -> None:
    cid = "twoproc-" + secrets.token_hex(6)
    amy = AgentClient(cluster.b, "amy", PASSWORD)
    bob = AgentClient(cluster.a, "bob", PASSWORD)
    async with aiohttp.ClientSession() as shop_http, amy, bob:
        async with shop_http.ws_connect(f"{cluster.a}/ws/chat?cid={cid}") as shop, \
                amy.ws() as console_b:
            assert (await console_b.receive_json())["type"] == "hello"
            await _frames_until(shop, lambda f: f["type"] == "reply")  # the welcome

            # the shopper on A asks for a human; the ticket shows up in B's console and queue
            await shop.send_json({"type": "message", "text": "转人工"})
            await _frames_until(shop, lambda f: f == {"type": "status", "status": "waiting"})
            opened = await next_event(console_b, "ticket_opened", within=STEP)
            assert opened["conversation"] == f"web:{cid}"
            ticket_id = opened["ticket"]
            status, queue = await amy.get("queue")
            assert status == 200 and [t["id"] for t in queue["tickets"]] == [ticket_id]

            # amy on B and bob on A click "take" at once: exactly one wins
            results = await asyncio.gather(amy.post(f"tickets/{ticket_id}/claim"),
                                           bob.post(f"tickets/{ticket_id}/claim"))
            assert sorted(s for s, _ in results) == [200, 409], results
            assert next(b for s, b in results if s == 409)["code"] == "taken"
            winner, name = (amy, "amy") if results[0][0] == 200 else (bob, "bob")
            joined = await _frames_until(shop, lambda f: f.get("status") == "agent")
            assert any(f["type"] == "reply" and name in f["text"] for f in joined), joined

            # the winner's reply, posted on B, reaches the shopper's socket on A
            status, _ = await winner.post(f"tickets/{ticket_id}/message",
                                          {"text": "您好，我是人工客服"}, base=cluster.b)
            assert status == 200
            reply = await _frames_until(shop, lambda f: f["type"] == "reply")
            assert reply[-1]["text"] == "您好，我是人工客服" and reply[-1]["from"] == "agent"

            # closing on B asks the shopper on A for a rating
            status, _ = await winner.post(f"tickets/{ticket_id}/close", base=cluster.b)
            assert status == 200
            asked = await _frames_until(shop, lambda f: f.get("status") == "closed")
            question = [f for f in asked if f["type"] == "reply"][-1]
            assert question["buttons"] == ["1", "2", "3", "4", "5"]
            await shop.send_json({"type": "message", "text": "5"})
            await _frames_until(shop, lambda f: f["type"] == "status")
            _, detail = await amy.get(f"tickets/{ticket_id}")
            assert detail["ticket"]["rating"] == 5
            assert detail["ticket"]["closed_by"] == name

            # presence set on A is seen on B, in the API and on B's console socket
            status, _ = await amy.post("presence", {"presence": "online", "capacity": 2},
                                       base=cluster.a)
            assert status == 200
            change = await next_event(console_b, "presence", within=STEP)
            assert change["agent"] == "amy" and change["data"]["presence"] == "online"
            _, team = await bob.get("agents", base=cluster.b)
            [seen] = [a for a in team["agents"] if a["name"] == "amy"]
            assert (seen["presence"], seen["capacity"]) == ("online", 2)
