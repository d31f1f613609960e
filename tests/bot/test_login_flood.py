"""Login floods: shoppers stay fast, and throttling cannot be turned against an agent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.auth import RedisUserStore
from bot.auth.throttle import MemoryCounters, RedisCounters
from bot.auth.users import new_user
from bot.services import Services
from bot.web.app import create_app
from bot.web.login import AUTH, Auth, LoginLimits
from tests.conftest import free_port, post_login, redis_client

FLOOD = 32
TURNS = 150


async def _serve(services: Services) -> AsyncIterator[tuple[str, web.Application]]:
    await services.users.put(new_user("amy", "agent", "correct horse"))
    app = create_app(services)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", app
    await runner.cleanup()


@pytest.fixture
async def served(services: Services) -> AsyncIterator[tuple[str, web.Application]]:
    async for pair in _serve(services):
        yield pair


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def _shopper_turns(ws: aiohttp.ClientWebSocketResponse, turns: int) -> list[float]:
    took = []
    for _ in range(turns):
        start = time.perf_counter()
        await ws.send_json({"type": "message", "text": "你好"})
        while (await ws.receive_json(timeout=10))["type"] != "status":
            pass
        took.append(time.perf_counter() - start)
    return took


async def _flood(url: str, stop: asyncio.Event, done: list[int]) -> None:
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            async with post_login(http, url, data={"name": "amy", "password": "wrong guess"},
                                 allow_redirects=False) as resp:
                await resp.read()
                done.append(resp.status)


async def test_a_shopper_stays_fast_during_a_32_way_login_flood(
        served: tuple[str, web.Application]) -> None:
    """Hashing runs in worker threads, a few at a time: the event loop keeps answering."""
    url, app = served
    app[AUTH].limits = LoginLimits(per_address=10**6, per_pair=10**6, per_account=10**6)
    async with aiohttp.ClientSession() as http, \
            http.ws_connect(url + "/ws/chat?cid=floodshopper1") as ws:
        while (await ws.receive_json(timeout=10))["type"] != "reply":
            pass
        await _shopper_turns(ws, 20)  # warm up
        quiet = await _shopper_turns(ws, TURNS)
        stop, done = asyncio.Event(), list[int]()
        flood = [asyncio.create_task(_flood(url, stop, done)) for _ in range(FLOOD)]
        await asyncio.sleep(0.3)
        try:
            loud = await asyncio.wait_for(_shopper_turns(ws, TURNS), timeout=30)
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*flood, return_exceptions=True), timeout=30)
    assert done and set(done) == {401}, "the flood really hashed passwords"
    quiet_p99, loud_p99 = _p99(quiet), _p99(loud)
    # Within 2x, with 20 ms of slack for a shared machine: one argon2 check on the loop
    # alone costs ~200 ms, so hashing on the loop fails this by far.
    assert loud_p99 <= max(2 * quiet_p99, quiet_p99 + 0.02), (quiet_p99, loud_p99)


async def test_one_address_cannot_lock_an_agent_out(served: tuple[str, web.Application]) -> None:
    """Failures count per (account, address): another address still logs in."""
    url, _ = served
    other = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession() as attacker, \
            aiohttp.ClientSession(connector=other) as agent:
        for _ in range(5):
            async with post_login(attacker, url,
                                     data={"name": "amy", "password": "wrong guess"}) as resp:
                assert resp.status == 401
        async with post_login(attacker, url,
                                 data={"name": "amy", "password": "correct horse"}) as resp:
            assert resp.status == 429
        async with post_login(agent, url, data={"name": "amy", "password": "correct horse"},
                              allow_redirects=False) as resp:
            assert resp.status == 302


async def test_one_address_is_limited_whatever_names_it_tries(
        served: tuple[str, web.Application]) -> None:
    url, app = served
    app[AUTH].limits = LoginLimits(per_address=8)
    async with aiohttp.ClientSession() as http:
        for i in range(8):
            async with post_login(http, url,
                                 data={"name": f"user{i}", "password": "wrong guess"}) as resp:
                assert resp.status == 401
        async with post_login(http, url,
                             data={"name": "amy", "password": "correct horse"}) as resp:
            assert resp.status == 429


async def test_an_account_has_a_ceiling_over_every_address(services: Services) -> None:
    auth = Auth(services.users, "secret", limits=LoginLimits(per_account=3))
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert await auth.locked("amy", address) == 0
        await auth.failed("amy", address)
    assert await auth.locked("amy", "10.0.0.4") > 0
    assert await auth.locked("bob", "10.0.0.4") == 0


async def test_redis_counters_are_shared_and_expire(redis_prefix: str) -> None:
    async with redis_client(redis_prefix) as client:
        auth = Auth(RedisUserStore(client, prefix=redis_prefix), "secret")
        assert isinstance(auth.counters, RedisCounters)
        other = RedisCounters(client, redis_prefix)  # another process on the same Redis
        for _ in range(5):
            await auth.failed("amy", "10.0.0.1")
        count, left = await other.peek("pair:amy|10.0.0.1")
        assert count == 5 and 0 < left <= 300
        assert await auth.locked("amy", "10.0.0.1") > 0
        assert await client.ttl(f"{redis_prefix}:login:account:amy") > 0
        await auth.succeeded("amy", "10.0.0.1")
        assert await auth.locked("amy", "10.0.0.1") == 0


async def test_memory_counters_window_ends() -> None:
    counters = MemoryCounters()
    assert await counters.hit("k", 1) == 1 and await counters.hit("k", 1) == 2
    await asyncio.sleep(1.05)
    assert await counters.peek("k") == (0, 0.0)
    assert await counters.hit("k", 1) == 1
