"""A shopper's web chat latency with and without a 32-way login flood (issue 16, point 1).

Usage (from the repo root)::

    .venv/bin/python bench/login_flood.py                 # 32 logins at once, 200 turns
    .venv/bin/python bench/login_flood.py --flood 64 --turns 500

The server is kefu's web app (memory store, one account) in its own process
(``bench/login_flood.py --serve``), with the login limits raised so every flood attempt
really checks a password. One shopper sends ``你好`` turn after turn on the websocket, first
alone, then while ``--flood`` clients post wrong passwords to /login without pause. Prints
the shopper's p50/p99 in both phases and the p99 ratio (issue 16 asks for at most 2x).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import ROOT, listening, percentile, ready_port, table  # noqa: E402

PASSWORD = "correct horse"


async def serve() -> None:
    from bot.auth.users import new_user
    from bot.services import Services
    from bot.web.app import create_app
    from bot.web.login import AUTH, LoginLimits
    from config import load_settings

    with tempfile.TemporaryDirectory(prefix="kefu-bench-") as tmp:
        settings = load_settings(data_dir=Path(tmp))
        services = Services.build(settings)
        await services.users.put(new_user("amy", "agent", PASSWORD))
        app = create_app(services)
        app[AUTH].limits = LoginLimits(per_address=10**9, per_pair=10**9, per_account=10**9)
        async with listening(app) as (port, stop):
            print(f"READY {port}", flush=True)
            await stop.wait()


async def turns(url: str, count: int) -> list[float]:
    import aiohttp

    took = []
    async with aiohttp.ClientSession() as http, \
            http.ws_connect(url + f"/ws/chat?cid=bench-flood-{secrets.token_hex(4)}") as ws:
        while (await ws.receive_json(timeout=30))["type"] != "reply":  # the welcome
            pass
        for _ in range(count):
            start = time.perf_counter()
            await ws.send_json({"type": "message", "text": "你好"})
            while (await ws.receive_json(timeout=30))["type"] != "status":
                pass
            took.append(time.perf_counter() - start)
    return sorted(took)


async def flood(url: str, stop: asyncio.Event, statuses: list[int]) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/login") as resp:
            token = resp.cookies["kefu_login"].value  # the form's CSRF token (double submit)
        while not stop.is_set():
            async with http.post(url + "/login", allow_redirects=False,
                                 cookies={"kefu_login": token},
                                 data={"name": "amy", "password": "wrong!!!", "csrf": token}
                                 ) as resp:
                await resp.read()
                statuses.append(resp.status)


async def main(args: argparse.Namespace) -> int:
    server = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "login_flood.py"), "--serve", cwd=ROOT,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        assert server.stdout is not None
        port = await ready_port(server.stdout, within=120)
        if port is None:
            print("the server did not start", file=sys.stderr)
            return 1
        url = f"http://127.0.0.1:{port}"
        await turns(url, 20)  # warm up
        quiet = await turns(url, args.turns)
        stop, statuses = asyncio.Event(), list[int]()
        clients = [asyncio.create_task(flood(url, stop, statuses)) for _ in range(args.flood)]
        await asyncio.sleep(0.5)
        started = time.perf_counter()
        try:
            loud = await asyncio.wait_for(turns(url, args.turns), timeout=args.timeout)
        finally:
            stop.set()
            await asyncio.gather(*clients, return_exceptions=True)
        seconds = time.perf_counter() - started
    finally:
        if server.stdin is not None:
            server.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            server.terminate()
        await server.wait()
    rows = [[name, f"{percentile(s, 50) * 1000:.1f}", f"{percentile(s, 99) * 1000:.1f}"]
            for name, s in (("no flood", quiet), (f"{args.flood}-way login flood", loud))]
    print(table(["shopper", "p50 ms", "p99 ms"], rows))
    ratio = percentile(loud, 99) / percentile(quiet, 99)
    print(f"logins checked during the flood: {len(statuses)} in {seconds:.1f} s")
    print(f"p99 ratio (flood / no flood): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--flood", type=int, default=32, help="concurrent login clients")
    parser.add_argument("--turns", type=int, default=200, help="shopper turns per phase")
    parser.add_argument("--timeout", type=float, default=120, help="seconds for the flood phase")
    options = parser.parse_args()
    if options.serve:
        asyncio.run(serve())
        sys.exit(0)
    sys.exit(asyncio.run(main(options)))
