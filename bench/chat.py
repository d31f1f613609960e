"""Web chat load: N simultaneous shoppers on the websocket, three servers in one run.

Usage (from the repo root)::

    .venv/bin/python bench/chat.py                       # 200 shoppers x 10 messages, 3 rounds
    .venv/bin/python bench/chat.py --shoppers 50 --messages 20 --json
    .venv/bin/python bench/chat.py --servers memory --rounds 1 --profile memory  # cProfile

Servers, each in its own OS process (``bench/chat.py --serve KIND``) on a free loopback
port, all started (and trained) before any measuring:

* ``echo``: bare aiohttp websocket, one reply frame and one status frame per message
  (the floor: websocket + JSON + the client's own cost);
* ``memory``: kefu's app (``create_app(Services.build(settings))``), in-memory store;
* ``redis``: the same with a Redis store (db 14 by default, a unique key prefix whose keys
  are deleted afterwards); printed as "unavailable" when Redis does not answer.

The clients run in this process (aiohttp; uvloop when installed, so the client costs the
shared CPUs as little as possible). Rounds are interleaved (echo, memory, redis, echo, …)
with fresh shoppers each time, so a noisy neighbour hurts every server alike; latencies are
pooled over the rounds, msg/s is the median round. Latency of a turn = sending
``{"type":"message"}`` → receiving the ``{"type":"status"}`` frame that ends it. Each round
connects (and welcomes) every shopper first, then starts them together. A reply that is
the library's ``error`` text counts as an error, not as an answer.

Bounded: ``--timeout`` per round and server, ``--budget`` for the whole run (rounds that
would start after it are skipped), and servers exit on their own if this process dies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import random
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    ROOT,
    conversation,
    listening,
    percentile,
    ready_port,
    table,
)

SERVERS = ("echo", "memory", "redis")
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
SHARED_PREFIX = "kefu"  # stores kefu builds itself (handoff tickets) use this fixed prefix
TARGET_P99_X = 3.0
TARGET_THROUGHPUT = 0.5
MAX_SERVER_LIFE = 900.0  # seconds; a server orphaned by a crashed parent still exits
START_TIMEOUT = 90.0  # seconds for a server to train and listen
CONNECT_TIMEOUT = 30.0  # seconds for all shoppers of a round to connect and be welcomed
MAX_FRAME = 64 * 1024
MAX_FRAMES_PER_TURN = 50  # a turn that sends more frames than this is an error


# ----------------------------------------------------------------------------- servers


async def _echo_socket(request: Any) -> Any:
    """The floor: kefu's frame protocol with no work behind it."""
    from aiohttp import WSMsgType, web

    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME)
    await ws.prepare(request)
    await ws.send_json({"type": "hello", "cid": request.query.get("cid", "")})
    await ws.send_json({"type": "reply", "text": "欢迎光临", "buttons": [], "from": "bot"})
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            continue
        try:
            frame = json.loads(msg.data)
        except ValueError:
            await ws.send_json({"type": "error", "code": "bad_json"})
            continue
        text = frame.get("text", "") if isinstance(frame, dict) else ""
        await ws.send_json({"type": "reply", "text": text, "buttons": [], "from": "bot"})
        await ws.send_json({"type": "status", "status": "bot"})
    return ws


def _build_app(kind: str, opts: argparse.Namespace, data_dir: str) -> tuple[Any, Any]:
    """The aiohttp app for a server kind, and the Services to close (None for echo).

    ``data_dir`` is a temporary folder and the secret key a throwaway, so a run never writes
    into the repository's ``.kefu``.
    """
    from aiohttp import web

    if kind == "echo":
        app = web.Application()
        app.router.add_get("/ws/chat", _echo_socket)
        return app, None
    from bot.services import Services
    from bot.web.app import create_app
    from config import load_settings

    local = {"data_dir": data_dir, "secret_key": secrets.token_urlsafe(32)}
    if kind == "memory":
        services = Services.build(load_settings(redis_url=None, **local))
    else:
        from bot.storage.redis import RedisConversationStore
        from config.redis_client import connect

        settings = load_settings(redis_url=opts.redis_url, **local)
        if opts.redis_pool:  # what-if: a bounded blocking pool instead of redis-py's default
            from redis import asyncio as aioredis

            pool = aioredis.BlockingConnectionPool.from_url(
                opts.redis_url, max_connections=opts.redis_pool, timeout=10,
                socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)
            client = aioredis.Redis(connection_pool=pool)
        else:
            client = connect(opts.redis_url)
        store = RedisConversationStore(client, prefix=opts.prefix)
        services = Services.build(settings, store=store)
        _isolate_handoff(services, client, opts.prefix)
    return create_app(services), services


def _isolate_handoff(services: Any, client: Any, prefix: str) -> None:
    """Give the handoff tickets our prefix too. Redis pub/sub channels are not per database,
    so with the default ``kefu:handoff:events`` channel this server would hear (and act on)
    every other kefu process on the same Redis server, and they would hear us."""
    try:
        from handoff import RedisHandoffStore

        services.handoff.store = RedisHandoffStore(client, prefix=prefix)
    except (ImportError, AttributeError, TypeError) as exc:
        print(f"warning: handoff store not isolated ({exc})", file=sys.stderr)


class _ErrorLog(logging.Handler):
    """Counts the server's error records instead of flooding the bench's output."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        cause = record.exc_info[1] if record.exc_info else None
        key = f"{record.name}: {str(record.msg)[:80]}"  # the format string groups alike
        if cause is not None:
            key += f" ({type(cause).__name__}: {str(cause)[:80]})"
        if key in self.first or len(self.first) < 5:
            self.first[key] = self.first.get(key, 0) + 1


async def _serve(kind: str, opts: argparse.Namespace) -> None:
    """Listen on a free loopback port, print ``READY port``, run until told to stop."""
    if opts.data_dir:  # made (and removed, however this process ends) by the parent
        await _listen(kind, opts, opts.data_dir)
        return
    with tempfile.TemporaryDirectory(prefix="kefu-bench-") as data_dir:
        await _listen(kind, opts, data_dir)


async def _listen(kind: str, opts: argparse.Namespace, data_dir: str) -> None:
    """Serve one app until SIGTERM/SIGINT, parent EOF on stdin, or MAX_SERVER_LIFE."""
    errors = _ErrorLog()
    logging.basicConfig(level=logging.WARNING, handlers=[errors])
    app, services = _build_app(kind, opts, data_dir)
    try:
        async with listening(app) as (port, stop):
            prof = None
            if opts.profile_self:
                import cProfile

                prof = cProfile.Profile(time.thread_time)  # CPU time: neighbours don't count
                prof.enable()
            print(f"READY {port}", flush=True)
            try:
                await asyncio.wait_for(stop.wait(), MAX_SERVER_LIFE)
            except TimeoutError:
                pass
            finally:
                if prof is not None:
                    prof.disable()
                    _profile_summary(prof, kind)
    finally:
        if services is not None:
            await services.close()
        print("LOGGED " + json.dumps({"errors": errors.count, "first": errors.first},
                                     ensure_ascii=False), flush=True)


def serve_main(kind: str, opts: argparse.Namespace) -> None:
    """Entry point of a server process."""
    asyncio.run(_serve(kind, opts))


def _profile_summary(prof: Any, kind: str) -> None:
    """Top functions of the serving phase (start-up and training excluded), to stderr."""
    import pstats

    stats = pstats.Stats(prof, stream=sys.stderr).strip_dirs()
    print(f"\n== cProfile of the {kind} server while serving (thread CPU seconds) ==",
          file=sys.stderr)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(45)


class Server:
    """A server subprocess: start, report its CPU time, stop and collect its error log."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0
        self.logged: dict[str, Any] = {}
        self.data_dir = tempfile.mkdtemp(prefix="kefu-bench-")

    async def start(self, args: argparse.Namespace, prefix: str) -> bool:
        cmd = [sys.executable, str(HERE / "chat.py"), "--serve", self.kind,
               "--redis-url", args.redis_url, "--prefix", prefix,
               "--redis-pool", str(args.redis_pool), "--data-dir", self.data_dir]
        if args.profile == self.kind:
            cmd.append("--profile-self")
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, cwd=str(ROOT), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE)
        assert self.proc.stdout is not None
        port = await ready_port(self.proc.stdout, START_TIMEOUT)
        if port is None:
            return False
        self.port = port
        return True

    def cpu_seconds(self) -> float | None:
        """User+system CPU seconds of the server process (Linux /proc), None elsewhere."""
        if self.proc is None:
            return None
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    async def stop(self) -> None:
        try:
            await self._stop()
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    async def _stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = await asyncio.wait_for(self.proc.communicate(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            return
        for line in out.decode("utf-8", "replace").splitlines():
            if line.startswith("LOGGED "):
                with contextlib.suppress(ValueError):
                    self.logged = json.loads(line[7:])


def _machine_busy_seconds() -> float | None:
    """CPU-seconds the whole machine spent busy (incl. steal), from /proc/stat; else None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


# ----------------------------------------------------------------------------- clients


@dataclass
class Shopper:
    """What one simulated shopper saw."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_replies: int = 0
    statuses: dict[str, list[float]] = field(default_factory=dict)  # latencies by end status


@dataclass
class Round:
    """One load round against one server."""

    connected: int
    latencies: list[float]
    seconds: float
    errors: int
    error_replies: int
    statuses: dict[str, list[float]]
    server_cpu: float | None
    client_cpu: float
    other_cpu: float | None
    timed_out: bool


@dataclass
class Result:
    """One server's row (all rounds)."""

    server: str
    status: str = "ok"  # ok | unavailable | failed | timed out
    rounds: int = 0
    shoppers: int = 0
    connect_failures: int = 0
    messages: int = 0
    errors: int = 0
    error_replies: int = 0
    msg_per_s: float = float("nan")
    msg_per_s_min: float = float("nan")
    msg_per_s_max: float = float("nan")
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    max_ms: float = float("nan")
    p99_vs_echo: float | None = None
    throughput_vs_echo: float | None = None
    server_cpu_ms_per_msg: float | None = None
    server_cpu_pct: float | None = None
    client_cpu_pct: float | None = None
    other_cpu_pct: float | None = None
    round_msg_per_s: list[float] = field(default_factory=list)
    turn_status: dict[str, int] = field(default_factory=dict)
    turn_status_p99_ms: dict[str, float] = field(default_factory=dict)
    server_errors_logged: int = 0
    server_error_samples: dict[str, int] = field(default_factory=dict)
    note: str = ""


def _error_texts() -> frozenset[str]:
    """The library's ``error`` system texts, Simplified and Traditional."""
    try:
        import opencc
        import yaml

        from config.settings import DEFAULT_LIBRARY

        raw = yaml.safe_load((DEFAULT_LIBRARY / "system.yaml").read_text(encoding="utf-8"))
        texts = [str(t) for t in raw.get("error") or []]
        s2t = opencc.OpenCC("s2t")
        return frozenset([*texts, *(s2t.convert(t) for t in texts)])
    except Exception:
        return frozenset()


async def _welcome(ws: Any, wait: float) -> None:
    """Read the ``hello`` frame and the first welcome reply."""
    seen_hello = False
    for _ in range(MAX_FRAMES_PER_TURN):
        frame = json.loads(await ws.receive_str(timeout=wait))
        if frame.get("type") == "hello":
            seen_hello = True
        elif seen_hello and frame.get("type") in ("reply", "status"):
            return
    raise RuntimeError("no welcome")


async def _turn(ws: Any, text: str, deadline: float, shopper: Shopper,
                error_texts: frozenset[str]) -> None:
    """Send one message and wait for the status frame that ends its turn."""
    started = time.perf_counter()
    await ws.send_str(json.dumps({"type": "message", "text": text}, ensure_ascii=False))
    failed = False
    for _ in range(MAX_FRAMES_PER_TURN):
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise TimeoutError
        frame = json.loads(await ws.receive_str(timeout=remaining))
        kind = frame.get("type")
        if kind == "reply" and frame.get("text") in error_texts:
            failed = True
        elif kind == "status":
            elapsed = time.perf_counter() - started
            if failed:
                shopper.error_replies += 1
                return
            shopper.latencies.append(elapsed)
            shopper.statuses.setdefault(str(frame.get("status")), []).append(elapsed)
            return
        elif kind == "error":
            shopper.errors += 1
            return
    shopper.errors += 1


async def _shopper(session: Any, url: str, lines: list[str], think: float, offset: float,
                   connected: asyncio.Queue[bool], go: asyncio.Event,
                   deadline: list[float], error_texts: frozenset[str]) -> Shopper:
    """Connect, get welcomed, report, wait for the start (and ``offset`` more seconds: with
    a think time, shoppers who all spoke at the same instant would stay in lockstep and
    measure bursts of N simultaneous lines, not a steady load), then talk."""
    import aiohttp

    shopper = Shopper()
    cid = "bench" + secrets.token_hex(8)
    try:
        ws = await session.ws_connect(f"{url}?cid={cid}", max_msg_size=MAX_FRAME,
                                      timeout=aiohttp.ClientWSTimeout(ws_close=10.0))
    except Exception:
        await connected.put(False)
        return shopper
    try:
        try:
            await _welcome(ws, CONNECT_TIMEOUT)
        except Exception:
            await connected.put(False)
            return shopper
        await connected.put(True)
        await go.wait()
        if offset > 0:
            await asyncio.sleep(offset)
        for text in lines:
            if time.perf_counter() >= deadline[0]:
                break
            try:
                await _turn(ws, text, deadline[0], shopper, error_texts)
            except TimeoutError:
                break
            except Exception:
                shopper.errors += 1
                break
            if think > 0:
                await asyncio.sleep(min(think, max(0.0, deadline[0] - time.perf_counter())))
    finally:
        await ws.close()
    return shopper


async def _round(server: Server, args: argparse.Namespace, seed: int,
                 error_texts: frozenset[str]) -> Round:
    """Drive one server once: connect every shopper, start them together, collect."""
    import aiohttp

    rng = random.Random(seed)
    scripts = [conversation(args.messages, rng) for _ in range(args.shoppers)]
    connected: asyncio.Queue[bool] = asyncio.Queue()
    go = asyncio.Event()
    deadline = [time.perf_counter() + CONNECT_TIMEOUT + args.timeout]
    url = f"http://127.0.0.1:{server.port}/ws/chat"
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=CONNECT_TIMEOUT)  # the handshake, not the socket
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks = [asyncio.create_task(_shopper(session, url, s, args.think,
                                              rng.random() * args.think, connected, go,
                                              deadline, error_texts))
                 for s in scripts]
        ok = 0
        for _ in scripts:
            try:
                ok += await asyncio.wait_for(connected.get(), CONNECT_TIMEOUT)
            except TimeoutError:
                break
        cpu0, client0, busy0 = server.cpu_seconds(), time.process_time(), _machine_busy_seconds()
        started = time.perf_counter()
        deadline[0] = started + args.timeout
        go.set()
        done, pending = await asyncio.wait(tasks, timeout=args.timeout + 10)
        elapsed = time.perf_counter() - started
        cpu1, client1, busy1 = server.cpu_seconds(), time.process_time(), _machine_busy_seconds()
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=10)
    shoppers = [t.result() for t in done if not t.cancelled() and t.exception() is None]
    server_cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    other = None
    if busy0 is not None and busy1 is not None and server_cpu is not None:
        other = max(0.0, busy1 - busy0 - server_cpu - (client1 - client0))
    statuses: dict[str, list[float]] = {}
    for s in shoppers:
        for status, times in s.statuses.items():
            statuses.setdefault(status, []).extend(times)
    return Round(
        connected=ok,
        latencies=[x for s in shoppers for x in s.latencies],
        seconds=elapsed,
        errors=sum(s.errors for s in shoppers),
        error_replies=sum(s.error_replies for s in shoppers),
        statuses=statuses,
        server_cpu=server_cpu,
        client_cpu=client1 - client0,
        other_cpu=other,
        timed_out=time.perf_counter() >= deadline[0] or bool(pending),
    )


def _summarise(kind: str, rounds: list[Round], args: argparse.Namespace) -> Result:
    """Pool the rounds of one server into its row."""
    result = Result(server=kind, rounds=len(rounds), shoppers=args.shoppers)
    if not rounds:
        return result
    latencies = sorted(x for r in rounds for x in r.latencies)
    rates = [len(r.latencies) / r.seconds for r in rounds if r.seconds > 0]
    seconds = sum(r.seconds for r in rounds)
    result.connect_failures = sum(args.shoppers - r.connected for r in rounds)
    result.messages = len(latencies)
    result.errors = sum(r.errors for r in rounds)
    result.error_replies = sum(r.error_replies for r in rounds)
    if rates:
        result.msg_per_s = statistics.median(rates)
        result.msg_per_s_min, result.msg_per_s_max = min(rates), max(rates)
        result.round_msg_per_s = [round(x, 1) for x in rates]
    result.p50_ms = percentile(latencies, 50) * 1000
    result.p99_ms = percentile(latencies, 99) * 1000
    result.max_ms = latencies[-1] * 1000 if latencies else float("nan")
    cpu = [r.server_cpu for r in rounds]
    if all(c is not None for c in cpu) and seconds > 0:
        total = sum(c for c in cpu if c is not None)
        result.server_cpu_pct = 100 * total / seconds
        if result.messages:
            result.server_cpu_ms_per_msg = 1000 * total / result.messages
    if seconds > 0:
        result.client_cpu_pct = 100 * sum(r.client_cpu for r in rounds) / seconds
        other = [r.other_cpu for r in rounds]
        if all(o is not None for o in other):
            result.other_cpu_pct = 100 * sum(o for o in other if o is not None) / seconds
    by_status: dict[str, list[float]] = {}
    for r in rounds:
        for status, times in r.statuses.items():
            by_status.setdefault(status, []).extend(times)
    for status, times in sorted(by_status.items()):
        result.turn_status[status] = len(times)
        result.turn_status_p99_ms[status] = round(percentile(sorted(times), 99) * 1000, 1)
    if any(r.timed_out for r in rounds):
        result.status = "timed out"
    return result


# ----------------------------------------------------------------------------- runner


def _redis_up(url: str) -> bool:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _redis_keys(url: str, pattern: str, limit: int = 200_000) -> set[bytes]:
    """Keys matching ``pattern`` (at most ``limit``); empty when Redis does not answer."""
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
    except Exception:
        return set()
    keys: set[bytes] = set()
    try:
        for key in client.scan_iter(match=pattern, count=1000):
            keys.add(key)
            if len(keys) >= limit:
                break
    except Exception:
        pass
    finally:
        client.close()
    return keys


def _redis_delete(url: str, keys: set[bytes]) -> int:
    """Delete exactly these keys; returns how many existed."""
    if not keys:
        return 0
    deleted = 0
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
        try:
            ordered = sorted(keys)
            for i in range(0, len(ordered), 500):
                deleted += int(client.delete(*ordered[i : i + 500]))
        finally:
            client.close()
    except Exception:
        pass
    return deleted


def _redis_cleanup(url: str, prefix: str, shared_before: set[bytes]) -> int:
    """Delete this run's keys: everything under our conversation prefix, and keys under the
    stores' fixed ``kefu:`` prefix (handoff tickets) that did not exist before the run."""
    ours = _redis_keys(url, f"{prefix}:*")
    new_shared = _redis_keys(url, f"{SHARED_PREFIX}:*") - shared_before
    return _redis_delete(url, ours | new_shared)


async def run(args: argparse.Namespace) -> list[Result]:
    """Start the servers, run interleaved rounds within the budget, stop the servers."""
    started = time.monotonic()
    prefix = f"kefubench:{os.getpid()}:{secrets.token_hex(4)}"
    error_texts = _error_texts()
    servers: dict[str, Server] = {}
    results: dict[str, Result] = {}
    shared_before: set[bytes] = set()
    rounds: dict[str, list[Round]] = {}
    try:
        for kind in args.servers:
            if kind == "redis" and not _redis_up(args.redis_url):
                results[kind] = Result(server=kind, status="unavailable",
                                       note=f"no Redis at {args.redis_url}")
                continue
            if kind == "redis":
                shared_before = _redis_keys(args.redis_url, f"{SHARED_PREFIX}:*")
            server = Server(kind)
            servers[kind] = server
            if not await server.start(args, prefix):
                results[kind] = Result(server=kind, status="failed",
                                       note="server did not start")
                continue
            rounds[kind] = []
            if args.warmup:  # first-call costs (templates, caches) are not steady state
                warm = argparse.Namespace(**{**vars(args), "shoppers": min(20, args.shoppers),
                                             "messages": min(5, args.messages)})
                await _round(server, warm, args.seed - 1, error_texts)
        for n in range(args.rounds):
            for kind in rounds:
                if n and time.monotonic() - started > args.budget:
                    break  # every server has had at least one round
                rounds[kind].append(await _round(servers[kind], args, args.seed + n,
                                                 error_texts))
    finally:
        for server in servers.values():
            await server.stop()
        if "redis" in servers:
            _redis_cleanup(args.redis_url, prefix, shared_before)
    for kind, kind_rounds in rounds.items():
        result = _summarise(kind, kind_rounds, args)
        logged = servers[kind].logged
        result.server_errors_logged = int(logged.get("errors", 0))
        result.server_error_samples = dict(logged.get("first", {}))
        if kind == "redis" and args.redis_pool:
            result.server = f"redis (pool {args.redis_pool})"
        if args.profile == kind:
            result.note = "profiled under cProfile (slower)"
        results[kind] = result
    ordered = [results[k] for k in args.servers if k in results]
    echo = results.get("echo")
    if echo is not None and echo.messages:
        for r in ordered:
            if r is not echo and r.messages:
                r.p99_vs_echo = r.p99_ms / echo.p99_ms if echo.p99_ms > 0 else None
                r.throughput_vs_echo = r.msg_per_s / echo.msg_per_s if echo.msg_per_s else None
    return ordered


def _f(x: float | None, fmt: str) -> str:
    return "-" if x is None or x != x else format(x, fmt)


def report(results: list[Result], args: argparse.Namespace) -> str:
    """The human-readable table, ratios vs echo and the targets."""
    rows = []
    for r in results:
        if r.status in ("unavailable", "failed"):
            rows.append([r.server, r.status, *["-"] * 11])
            continue
        verdict = "-"
        if r.p99_vs_echo is not None and r.throughput_vs_echo is not None:
            ok = r.p99_vs_echo <= TARGET_P99_X and r.throughput_vs_echo >= TARGET_THROUGHPUT
            ok = ok and not (r.errors or r.error_replies or r.connect_failures)
            verdict = "meets" if ok else "MISSES"
        rows.append([
            r.server, f"{r.messages}",
            _f(r.msg_per_s, ".0f"), f"{_f(r.msg_per_s_min, '.0f')}–{_f(r.msg_per_s_max, '.0f')}",
            _f(r.p50_ms, ".1f"), _f(r.p99_ms, ".1f"),
            _f(r.p99_vs_echo, ".1f") + ("×" if r.p99_vs_echo is not None else ""),
            _f(r.throughput_vs_echo, ".2f"), _f(r.server_cpu_ms_per_msg, ".2f"),
            _f(r.server_cpu_pct, ".0f"), _f(r.client_cpu_pct, ".0f"),
            _f(r.other_cpu_pct, ".0f"), verdict,
        ])
    head = ["server", "messages", "msg/s", "msg/s range", "p50 ms", "p99 ms", "p99 vs echo",
            "thru vs echo", "srv cpu ms/msg", "srv cpu %", "client cpu %", "other cpu %",
            "target"]
    done_rounds = max((r.rounds for r in results), default=0)
    lines = [
        f"kefu web chat load — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cpus, "
        f"Python {platform.python_version()}, client loop {args.loop_name}",
        f"{args.shoppers} simultaneous shoppers × {args.messages} messages, think time "
        f"{args.think:g} s, {done_rounds} interleaved round(s) per server",
        "",
        table(head, rows),
        "",
        f"targets: p99 within {TARGET_P99_X:g}× of echo, throughput ≥ {TARGET_THROUGHPUT:g}× echo "
        "(and no errors)",
        "messages = answered turns over all rounds; msg/s = median round; cpu % = of one core "
        "during the load phases; other = the rest of the machine (redis-server, neighbours)",
    ]
    for r in results:
        extra = []
        if r.turn_status:
            extra.append("turns ended " + ", ".join(
                f"{k} {v} (p99 {r.turn_status_p99_ms.get(k, float('nan')):.0f} ms)"
                for k, v in sorted(r.turn_status.items())))
        if r.messages:
            extra.append(f"max {r.max_ms:.0f} ms")
        if r.status == "timed out":
            extra.append(f"a round TIMED OUT (rounds msg/s: {r.round_msg_per_s})")
        if r.connect_failures:
            extra.append(f"{r.connect_failures} shopper connections FAILED")
        if r.errors:
            extra.append(f"{r.errors} protocol errors/timeouts")
        if r.error_replies:
            extra.append(f"{r.error_replies} turns answered with the library's error text")
        if r.server_errors_logged:
            extra.append(f"server logged {r.server_errors_logged} errors")
        if r.note:
            extra.append(r.note)
        if extra:
            lines.append(f"  {r.server}: " + "; ".join(extra))
        for sample, n in r.server_error_samples.items():
            lines.append(f"    {n}× {sample}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=200, help="simultaneous shoppers")
    parser.add_argument("--messages", type=int, default=10, help="messages per shopper")
    parser.add_argument("--think", type=float, default=0.0, help="seconds between messages")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per server")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false",
                        help="skip the small unmeasured warm-up round per server")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds one round against one server may take at most")
    parser.add_argument("--budget", type=float, default=75.0,
                        help="no new round starts after this many seconds")
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help="comma-separated subset of echo,memory,redis")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--redis-pool", type=int, default=0,
                        help="what-if: give the redis server a blocking pool of N connections")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--profile", choices=SERVERS, default=None,
                        help="run that server under cProfile; summary goes to stderr")
    parser.add_argument("--asyncio", action="store_true",
                        help="client on plain asyncio even when uvloop is installed")
    parser.add_argument("--serve", choices=SERVERS, help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="kefubench", help=argparse.SUPPRESS)
    parser.add_argument("--profile-self", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.servers = list(dict.fromkeys(s.strip() for s in args.servers.split(",") if s.strip()))
    unknown = set(args.servers) - set(SERVERS)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    if not 1 <= args.shoppers <= 5000 or not 1 <= args.messages <= 10_000:
        parser.error("--shoppers must be 1..5000 and --messages 1..10000")
    if not 1 <= args.rounds <= 20 or not 0 < args.budget <= 3600:
        parser.error("--rounds must be 1..20 and --budget in (0, 3600]")
    if not 0 < args.timeout <= 600 or not 0 <= args.think <= 60:
        parser.error("--timeout must be in (0, 600] and --think in [0, 60]")
    if not 0 <= args.redis_pool <= 10_000:
        parser.error("--redis-pool must be 0..10000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        serve_main(args.serve, args)
        return 0
    args.loop_name = "asyncio"
    loop_factory = None
    if not args.asyncio:
        with contextlib.suppress(ImportError):
            import uvloop

            loop_factory = uvloop.new_event_loop
            args.loop_name = "uvloop"
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        results = runner.run(run(args))
    if args.json:
        print(json.dumps({
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(),
            "python": platform.python_version(), "client_loop": args.loop_name,
            "shoppers": args.shoppers, "messages": args.messages, "think_s": args.think,
            "rounds": args.rounds,
            "targets": {"p99_vs_echo_max": TARGET_P99_X,
                        "throughput_vs_echo_min": TARGET_THROUGHPUT},
            "results": [{k: (None if isinstance(v, float) and v != v else v)
                         for k, v in asdict(r).items()} for r in results],
        }, ensure_ascii=False, indent=2))
    else:
        print(report(results, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
