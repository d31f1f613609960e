"""Handoff latency: N simultaneous shoppers say 转人工; how soon does an agent's console know?

Usage (from the repo root)::

    .venv/bin/python bench/handoff_latency.py              # 200 shoppers, memory store, 3 rounds
    .venv/bin/python bench/handoff_latency.py --redis      # the same on Redis (db 11)
    .venv/bin/python bench/handoff_latency.py --shoppers 50 --rounds 1 --json

The server (kefu's app, ``create_app(Services.build(settings))``) runs in its own OS process
(``bench/handoff_latency.py --serve``) on a free loopback port, with a throwaway data folder
and secret key, and one agent account it creates itself. This process then:

1. logs the agent in at /login, sets them online (capacity 5) and opens the console
   websocket /console/ws, as the console page does;
2. per round, connects N fresh shoppers to the web chat websocket and waits for each
   welcome, then releases them together: each sends 转人工;
3. measures, per shopper, **handoff latency** = sending 转人工 → the ``ticket_opened`` event
   for that conversation arriving on the agent's console socket (matched by conversation
   id; both times from this process's monotonic clock, so there is no clock skew), plus
   the shopper's own turn latency (转人工 → the ``status`` frame ending the bot's turn);
4. stops the server; the next round starts a fresh one (an empty queue).

Throughput = tickets seen on the console ÷ (last arrival − first send). ``--redis`` uses a
Redis database of its own (kefu's stores use the fixed key prefix ``kefu``); its ``kefu:*``
keys are deleted before and after. Bounded: ``--timeout`` per round, ``--budget`` for the
whole run, and the server exits by itself when this process goes away.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
HERE = SCRIPT.parent
sys.path.insert(0, str(HERE))

from _common import ROOT, listening, percentile, ready_port, table  # noqa: E402

DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
AGENT = "bench_agent"
START_TIMEOUT = 120.0
CONNECT_TIMEOUT = 60.0
MAX_SERVER_LIFE = 900.0
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


# ----------------------------------------------------------------------------- server


async def _serve(opts: argparse.Namespace) -> None:
    """Build the app, create the agent, listen, print ``READY port``, run until told."""
    import logging

    from bot.auth.users import new_user
    from bot.services import Services
    from bot.web.app import create_app
    from config import load_settings

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    password = sys.stdin.readline().strip()
    with tempfile.TemporaryDirectory(prefix="kefu-bench-handoff-") as data_dir:
        settings = load_settings(redis_url=opts.redis_url or None, data_dir=data_dir,
                                 secret_key=secrets.token_urlsafe(32))
        store = None
        if opts.redis_url and opts.redis_pool:  # what-if: a bounded pool that waits
            from redis import asyncio as aioredis

            from bot.storage.redis import RedisConversationStore

            pool = aioredis.BlockingConnectionPool.from_url(
                opts.redis_url, max_connections=opts.redis_pool, timeout=10,
                socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)
            store = RedisConversationStore(aioredis.Redis(connection_pool=pool))
        services = Services.build(settings, store=store)
        if store is not None:
            from handoff import RedisHandoffStore

            await services.handoff.store.close()
            services.handoff.store = RedisHandoffStore(store.redis)
        await services.users.put(new_user(AGENT, "agent", password, "压测客服"))
        async with listening(create_app(services)) as (port, stop):
            print(f"READY {port}", flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), MAX_SERVER_LIFE)
        await services.close()


class Server:
    """The server subprocess: start (with the agent's password on stdin), stop."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0
        self.password = secrets.token_urlsafe(16)
        self.stderr = tempfile.TemporaryFile()

    async def start(self, redis_url: str | None, redis_pool: int = 0) -> bool:
        cmd = [sys.executable, str(SCRIPT), "--serve"]
        if redis_url:
            cmd += ["--redis-url", redis_url, "--redis-pool", str(redis_pool)]
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, cwd=str(ROOT), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=self.stderr)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((self.password + "\n").encode())
        await self.proc.stdin.drain()
        port = await ready_port(self.proc.stdout, START_TIMEOUT)
        if port is None:
            return False
        self.port = port
        return True

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    def errors_logged(self) -> int:
        self.stderr.seek(0)
        text = self.stderr.read().decode("utf-8", "replace")
        if os.environ.get("KEFU_BENCH_SERVER_LOG"):
            Path(os.environ["KEFU_BENCH_SERVER_LOG"]).write_text(text, encoding="utf-8")
        return sum(1 for line in text.splitlines() if "ERROR" in line or "Traceback" in line)


# ----------------------------------------------------------------------------- clients


@dataclass
class Round:
    shoppers: int
    connected: int
    seen: int
    handoff: list[float]
    turns: list[float]
    seconds: float
    timed_out: bool
    statuses: dict[str, int] = field(default_factory=dict)
    #: 转人工 sent → ticket_opened published (server side), and published → on the console
    opened: list[float] = field(default_factory=list)
    relayed: list[float] = field(default_factory=list)
    #: times the console fell behind (over BACKLOG frames) and re-read its lists instead
    resyncs: int = 0


class Agent:
    """The agent: a logged-in HTTP session and the console websocket."""

    def __init__(self, http: Any, url: str) -> None:
        self.http = http
        self.url = url
        self.csrf = ""
        self.ws: Any = None
        self.arrivals: dict[str, float] = {}
        #: per conversation: (event published, event received), both wall-clock seconds
        self.published: dict[str, tuple[float, float]] = {}
        self.arrived = asyncio.Event()
        self.resyncs = 0
        self._reader: asyncio.Task[None] | None = None

    async def login(self, password: str) -> None:
        async with self.http.get(self.url + "/login") as resp:
            token = resp.cookies["kefu_login"].value  # the form's CSRF token (double submit)
        async with self.http.post(self.url + "/login", data={
                "name": AGENT, "password": password, "next": "/console", "csrf": token},
                cookies={"kefu_login": token}) as resp:
            page = await resp.text()
            if resp.status != 200 or not CSRF.search(page):
                raise RuntimeError(f"login failed: HTTP {resp.status}")
        found = CSRF.search(page)
        assert found is not None
        self.csrf = found.group(1)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        async with self.http.post(self.url + "/console/api/" + path, json=body or {},
                                  headers={"X-CSRF-Token": self.csrf}) as resp:
            data = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"{path}: HTTP {resp.status} {data}")
            return dict(data)

    async def get(self, path: str) -> dict[str, Any]:
        async with self.http.get(self.url + "/console/api/" + path) as resp:
            return dict(await resp.json())

    async def connect(self) -> None:
        self.ws = await self.http.ws_connect(self.url + "/console/ws",
                                             headers={"Origin": self.url})
        hello = await self.ws.receive_json(timeout=10)
        if hello.get("type") != "hello":
            raise RuntimeError(f"console socket said {hello}")
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            now = time.perf_counter()
            try:
                frame = json.loads(msg.data)
            except (TypeError, ValueError):
                continue
            if frame.get("kind") == "ticket_opened" and frame.get("conversation"):
                self.arrivals.setdefault(frame["conversation"], now)
                self.published.setdefault(frame["conversation"],
                                          (float(frame.get("ts") or 0), time.time()))
                self.arrived.set()
            elif frame.get("type") == "resync":
                # The console fell behind and was told to re-read, as the page then does:
                # tickets first seen in that read arrive when it returns.
                self.resyncs += 1
                lists = [await self.get("queue"), await self.get("mine")]
                seen = time.perf_counter()
                for ticket in (t for found in lists for t in found.get("tickets", [])):
                    self.arrivals.setdefault(str(ticket.get("conversation")), seen)
                self.arrived.set()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self.ws is not None:
            await self.ws.close()


async def _shopper(http: Any, url: str, cid: str, ready: asyncio.Queue[bool],
                   go: asyncio.Event, sent: dict[str, float], walls: dict[str, float],
                   turns: list[float],
                   statuses: dict[str, int], hold: asyncio.Event,
                   gate: asyncio.Semaphore) -> None:
    """Connect and get welcomed, wait for the start, say 转人工, wait for the turn's end."""
    async with gate:
        try:
            ws = await http.ws_connect(f"{url}/ws/chat?cid={cid}")
        except Exception:
            await ready.put(False)
            return
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                while (await ws.receive_json()).get("type") != "reply":
                    pass
        except Exception:
            await ready.put(False)
            await ws.close()
            return
    await ready.put(True)
    try:
        await go.wait()
        walls[f"web:{cid}"] = time.time()
        sent[f"web:{cid}"] = started = time.perf_counter()
        await ws.send_json({"type": "message", "text": "转人工"})
        while True:
            frame = await ws.receive_json()
            if frame.get("type") == "status":
                turns.append(time.perf_counter() - started)
                statuses[frame["status"]] = statuses.get(frame["status"], 0) + 1
                break
        await hold.wait()  # keep the socket open until the round is measured
    except Exception:
        return
    finally:
        await ws.close()


async def _round(http: Any, url: str, agent: Agent, n: int, index: int,
                 limit: float, at_once: int) -> Round:
    gate = asyncio.Semaphore(max(1, at_once))
    ready: asyncio.Queue[bool] = asyncio.Queue()
    go, hold = asyncio.Event(), asyncio.Event()
    sent: dict[str, float] = {}
    walls: dict[str, float] = {}
    turns: list[float] = []
    statuses: dict[str, int] = {}
    cids = [f"bench{index}x{i}x{secrets.token_hex(4)}" for i in range(n)]
    tasks = [asyncio.create_task(_shopper(http, url, cid, ready, go, sent, walls, turns,
                                          statuses, hold, gate)) for cid in cids]
    connected = 0
    for _ in range(n):
        connected += await ready.get()
    agent.arrivals.clear()
    agent.published.clear()
    resyncs = agent.resyncs
    go.set()
    start = time.perf_counter()
    timed_out = False
    try:
        async with asyncio.timeout(limit):
            while sum(1 for c in sent if c in agent.arrivals) < connected or \
                    len(turns) < connected:
                agent.arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(agent.arrived.wait(), 0.2)
    except TimeoutError:
        timed_out = True
    latencies = sorted(agent.arrivals[c] - sent[c] for c in sent if c in agent.arrivals)
    last = max((agent.arrivals[c] for c in sent if c in agent.arrivals), default=start)
    opened = sorted(agent.published[c][0] - walls[c] for c in walls if c in agent.published)
    relayed = sorted(b - a for a, b in agent.published.values())
    hold.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return Round(n, connected, len(latencies), latencies, sorted(turns),
                 max(1e-9, last - start), timed_out, statuses, opened, relayed,
                 agent.resyncs - resyncs)


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    """Rounds, each on a fresh server (a queue of hundreds of closed tickets, and the
    bridge's work on them, must not spill into the next round's figures)."""
    redis_url = (args.redis_url or DEFAULT_REDIS) if args.redis else None
    result: dict[str, Any] = {"store": "redis" if redis_url else "memory",
                              "shoppers": args.shoppers, "rounds": [],
                              "server_errors_logged": 0}
    budget_end = time.perf_counter() + args.budget
    for index in range(args.rounds):
        if index and time.perf_counter() + args.timeout > budget_end:
            result["note"] = f"budget reached after {index} rounds"
            break
        result["rounds"].append(await _one_server(args, redis_url, index, result))
    return result


async def _one_server(args: argparse.Namespace, redis_url: str | None, index: int,
                      result: dict[str, Any]) -> Round:
    import aiohttp

    if redis_url:
        await _clean(redis_url)
    server = Server()
    try:
        if not await server.start(redis_url, args.redis_pool):
            raise SystemExit("the server did not start")
        url = f"http://127.0.0.1:{server.port}"
        connector = aiohttp.TCPConnector(limit=0)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as http:
            agent = Agent(http, url)
            await agent.login(server.password)
            await agent.post("presence", {"presence": "online", "capacity": args.capacity})
            await agent.connect()
            outcome = await _round(http, url, agent, args.shoppers, index, args.timeout,
                                   args.connect_at_once)
            await agent.close()
        return outcome
    finally:
        await server.stop()
        result["server_errors_logged"] += server.errors_logged()
        if redis_url:
            await _clean(redis_url)


async def _clean(redis_url: str) -> None:
    from redis import asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter("kefu:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


# ----------------------------------------------------------------------------- report


def _ms(value: float) -> str:
    return f"{value * 1000:.0f}"


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    rounds: list[Round] = result["rounds"]
    handoff = sorted(x for r in rounds for x in r.handoff)
    turns = sorted(x for r in rounds for x in r.turns)
    opened = sorted(x for r in rounds for x in r.opened)
    relayed = sorted(x for r in rounds for x in r.relayed)
    rates = sorted(r.seen / r.seconds for r in rounds if r.seen)
    statuses: dict[str, int] = {}
    for r in rounds:
        for k, v in r.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    return {
        "store": result["store"], "shoppers": result["shoppers"], "rounds": len(rounds),
        "connected": sum(r.connected for r in rounds), "seen": len(handoff),
        "missing": sum(r.connected - r.seen for r in rounds),
        "timed_out": sum(r.timed_out for r in rounds),
        "handoff_p50_ms": percentile(handoff, 50) * 1000,
        "handoff_p99_ms": percentile(handoff, 99) * 1000,
        "handoff_max_ms": (handoff[-1] if handoff else float("nan")) * 1000,
        "opened_p50_ms": percentile(opened, 50) * 1000,
        "opened_p99_ms": percentile(opened, 99) * 1000,
        "relayed_p50_ms": percentile(relayed, 50) * 1000,
        "relayed_p99_ms": percentile(relayed, 99) * 1000,
        "turn_p50_ms": percentile(turns, 50) * 1000,
        "turn_p99_ms": percentile(turns, 99) * 1000,
        "tickets_per_s": rates[len(rates) // 2] if rates else float("nan"),
        "round_tickets_per_s": [round(r.seen / r.seconds, 1) for r in rounds],
        "shopper_status": statuses,
        "console_resyncs": sum(r.resyncs for r in rounds),
        "server_errors_logged": result.get("server_errors_logged", 0),
        "note": result.get("note", ""),
    }


def print_table(summary: dict[str, Any]) -> None:
    s = summary
    print(f"kefu handoff bench: {s['shoppers']} simultaneous shoppers say 转人工, "
          f"{s['rounds']} round(s), store={s['store']}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cpu")
    print(table(
        ["measure", "p50 ms", "p99 ms", "max ms"],
        [["转人工 → ticket on the console", f"{s['handoff_p50_ms']:.0f}",
          f"{s['handoff_p99_ms']:.0f}", f"{s['handoff_max_ms']:.0f}"],
         ["  of which: 转人工 → ticket opened", f"{s['opened_p50_ms']:.0f}",
          f"{s['opened_p99_ms']:.0f}", ""],
         ["  of which: opened → on the console", f"{s['relayed_p50_ms']:.0f}",
          f"{s['relayed_p99_ms']:.0f}", ""],
         ["转人工 → shopper's turn ends", f"{s['turn_p50_ms']:.0f}",
          f"{s['turn_p99_ms']:.0f}", ""]]))
    print()
    print(table(["tickets", "seen", "missing", "timed-out rounds", "tickets/s (median)",
                 "per round", "server errors"],
                [[s["connected"], s["seen"], s["missing"], s["timed_out"],
                  f"{s['tickets_per_s']:.1f}", " ".join(map(str, s["round_tickets_per_s"])),
                  s["server_errors_logged"]]]))
    print(f"shopper status after 转人工: {s['shopper_status']}")
    if s["console_resyncs"]:
        print(f"the console fell behind {s['console_resyncs']} time(s) and re-read its lists "
              "(tickets first seen in a re-read count from when it returned)")
    if s["note"]:
        print("note:", s["note"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--capacity", type=int, default=5, help="the agent's seats")
    parser.add_argument("--redis", action="store_true", help="Redis instead of memory")
    parser.add_argument("--redis-url", help=f"with --redis (default {DEFAULT_REDIS})")
    parser.add_argument("--redis-pool", type=int, default=0, metavar="N",
                        help="what-if: one blocking pool of N connections shared by the "
                             "conversations and tickets (default: kefu's own clients)")
    parser.add_argument("--connect-at-once", type=int, default=50, metavar="N",
                        help="shoppers connecting at the same time before the burst "
                             "(connecting is not measured)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per round")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds for all rounds")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args))
        return
    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        summary = summarize(runner.run(_run(args)))
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print_table(summary)
    if summary["missing"] or summary["timed_out"]:
        sys.exit(1)


if __name__ == "__main__":
    main()

