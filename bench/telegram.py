"""Telegram reply latency: N shoppers chatting at once through the fake Bot API server.

Usage (from the repo root)::

    .venv/bin/python bench/telegram.py                     # 50 shoppers x 10 messages
    .venv/bin/python bench/telegram.py --shoppers 100 --messages 5 --json
    .venv/bin/python bench/telegram.py --inproc            # bot in this process (quicker)

The fake Bot API server (tests/fake_telegram.py, its flood limits off) runs here; the bot
is a real ``kefu serve`` process (long polling, in-memory store, default flood limits:
~1 msg/s per chat, 30/s overall) pointed at it with KEFU_TELEGRAM_API_URL.
``--no-flood-limits`` runs the bot in-process with its own limits off as well, to show
what part of the latency is the limits (replies held back on purpose) and what is work.

Latency of a turn = the fake server queues the shopper's update → the fake server receives
the bot's first sendMessage to that chat (long-poll pickup, dedupe, engine, sender queue
and HTTP included). Each shopper first sends /start and waits for the welcome; then all
start together, each sending a line, waiting for the first reply, "reading" for a random
``--think`` time, and so on. A message with no reply within ``--timeout`` is counted as
unanswered and ends that shopper (a conversation handed to a human waits silently).

``--agent-chat`` turns the agents' forum group on as well (KEFU_TELEGRAM_AGENT_CHAT): the
handoffs among the shoppers' lines then open topics, and the numbers include that work.

``--agents`` measures the human side instead (bot in-process, agents' group on): every
shopper says 转人工, a Telegram agent (one per shopper) takes the ticket in its topic with
/take, then agent and shopper take turns: *agent → shopper* is the agent's line pushed
into the topic → the shopper's chat receives it (intake, HandoffService, event, bridge,
outbox); *shopper → topic* is the shopper's line → the bot posts it into the topic (engine,
HandoffService, event, the agents' desk). With the bot's flood limits on, the group's
Telegram limit (20 posts a minute) decides the second figure; ``--no-flood-limits`` shows
the work alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, conversation, percentile, table

sys.path.insert(0, str(ROOT))

from tests.fake_telegram import TOKEN, FakeTelegram

FIRST_CHAT = 500_001
START_TIMEOUT = 180.0
#: The agents' forum group, and the Telegram ids of the agents (one per shopper).
AGENT_GROUP = -1009000000001
FIRST_AGENT = 800_001


def _log_file(path: Path) -> BinaryIO:
    """Where the bot process logs (closed when this process exits)."""
    return path.open("wb")


class InProcess:
    """The bot in this process: the channel, and the handoff bridge ``kefu serve`` runs."""

    def __init__(self, channel: Any, bridge: asyncio.Task[None]) -> None:
        self.channel = channel
        self.bridge = bridge

    async def stop(self) -> None:
        await self.channel.stop()
        self.bridge.cancel()
        await asyncio.gather(self.bridge, return_exceptions=True)


async def start_bot(tg: FakeTelegram, inproc: bool, workdir: Path, limits: bool,
                    agent_chat: int | None = None) -> Any:
    """A running bot pointed at the fake; returns something :func:`stop_bot` understands."""
    if agent_chat is not None:
        tg.forum(agent_chat)
    if inproc:
        from bot.services import Services
        from bot.storage import MemoryConversationStore
        from bot.telegram import FloodLimits, TelegramChannel
        from config import load_settings

        settings = load_settings(data_dir=workdir / "data", shop_name="小铺",
                                 telegram_agent_chat=agent_chat)
        services = Services.build(settings, store=MemoryConversationStore())
        bridge = asyncio.create_task(services.bridge.run())
        channel = TelegramChannel(services, TOKEN, api_url=tg.url,
                                  limits=None if limits else FloodLimits.off())
        await channel.start()
        await asyncio.wait_for(channel.ready.wait(), START_TIMEOUT)
        return InProcess(channel, bridge)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    from tests.conftest import free_port

    env.update(KEFU_TELEGRAM_TOKEN=TOKEN, KEFU_TELEGRAM_API_URL=tg.url,
               KEFU_WEB_PORT=str(free_port()), KEFU_DATA_DIR=str(workdir / "data"))
    if agent_chat is not None:
        env["KEFU_TELEGRAM_AGENT_CHAT"] = str(agent_chat)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=_log_file(workdir / "serve.log"))
    await tg.wait_polling(within=START_TIMEOUT)
    return proc


async def stop_bot(bot: Any) -> None:
    if isinstance(bot, asyncio.subprocess.Process):
        if bot.returncode is None:
            bot.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(bot.wait(), 30)
            except TimeoutError:
                bot.kill()
                await bot.wait()
    else:
        await bot.stop()


async def shopper(tg: FakeTelegram, chat_id: int, lines: list[str], think: tuple[float, float],
                  patience: float, rng: random.Random, go: asyncio.Event,
                  latencies: list[float], unanswered: list[str]) -> None:
    """/start, wait for the welcome, then the lines, each waiting for its first reply."""
    tg.text(chat_id, "/start")
    if not await tg.wait_sent(chat_id, 1, within=patience):
        unanswered.append("/start")
        return
    await go.wait()
    await asyncio.sleep(rng.uniform(0, think[1]))  # shoppers do not all type at once
    for line in lines:
        before = len(tg.sent_calls(chat_id))
        update = tg.text(chat_id, line)
        pushed = tg.pushed_at[update["update_id"]]
        if not await tg.wait_sent(chat_id, before + 1, within=patience):
            unanswered.append(line)
            return
        latencies.append(tg.sent_calls(chat_id)[before].at - pushed)
        await asyncio.sleep(rng.uniform(*think))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    scripts = [conversation(args.messages, rng) for _ in range(args.shoppers)]
    latencies: list[float] = []
    unanswered: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kefu-bench-tg-") as tmp:
        async with FakeTelegram(flood_limits=False) as tg:
            started = time.perf_counter()
            bot = await start_bot(tg, args.inproc, Path(tmp), not args.no_flood_limits,
                                  AGENT_GROUP if args.agent_chat else None)
            print(f"bot up in {time.perf_counter() - started:.1f}s "
                  f"({'in-process' if args.inproc else 'kefu serve subprocess'})",
                  file=sys.stderr)
            try:
                go = asyncio.Event()
                tasks = [asyncio.create_task(shopper(
                    tg, FIRST_CHAT + i, scripts[i], (args.think_min, args.think_max),
                    args.timeout, random.Random(args.seed + i), go, latencies, unanswered))
                    for i in range(args.shoppers)]
                await tg.wait_until(lambda: all(tg.sent_calls(FIRST_CHAT + i)
                                                for i in range(args.shoppers)),
                                    within=args.timeout)
                began = time.perf_counter()
                go.set()
                await asyncio.wait_for(asyncio.gather(*tasks), args.max_seconds)
                elapsed = time.perf_counter() - began
            finally:
                await stop_bot(bot)
            refused = len([c for c in tg.calls if c.status == 429])
            sends = len([c for c in tg.calls if c.method == "sendMessage" and c.ok])
    values = sorted(latencies)
    return {
        "shoppers": args.shoppers, "messages_per_shopper": args.messages,
        "turns": len(values), "unanswered": len(unanswered),
        "unanswered_lines": sorted(set(unanswered))[:10],
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p90_ms": round(percentile(values, 90) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
        "max_ms": round(values[-1] * 1000, 1) if values else None,
        "turns_per_s": round(len(values) / elapsed, 1) if elapsed else None,
        "messages_sent": sends, "http_429": refused, "seconds": round(elapsed, 1),
        "think_s": [args.think_min, args.think_max], "bot": "inproc" if args.inproc else "serve",
        "bot_flood_limits": not args.no_flood_limits, "agent_chat": args.agent_chat,
        "python": platform.python_version(), "cpus": os.cpu_count(),
    }


# -- the agents' side ------------------------------------------------------------------------


async def wait_topic_post(tg: FakeTelegram, thread: int, text: str, start: int,
                          within: float) -> Any:
    """The first post into ``thread`` (from the ``start``-th group send on) containing
    ``text``; None after ``within`` seconds."""
    deadline = time.monotonic() + within
    seen = start
    while True:
        calls = tg.sent_calls(AGENT_GROUP)
        for call in calls[seen:]:
            if (call.params.get("message_thread_id") == thread
                    and text in str(call.params.get("text", ""))):
                return call
        seen = len(calls)
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not await tg.wait_sent(AGENT_GROUP, seen + 1, within=remaining):
            return None


async def wait_topic(tg: FakeTelegram, name: str, within: float) -> int | None:
    """The topic the bot opened for the shopper called ``name``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for thread, topic in list(tg.topics[AGENT_GROUP].items()):
            if topic["name"].startswith(f"{name} · "):
                return thread
        await asyncio.sleep(0.05)
    return None


async def handoff_pair(tg: FakeTelegram, i: int, rounds: int, think: tuple[float, float],
                       patience: float, rng: random.Random, go: asyncio.Event,
                       results: dict[str, list[float]], failures: list[str]) -> None:
    """One shopper and one agent: handoff, /take, then ``rounds`` turns each way."""
    chat = FIRST_CHAT + i
    name = f"顾客{i:03d}"
    shopper = tg.user(chat, name)
    agent = tg.user(FIRST_AGENT + i, f"客服{i:03d}")
    tg.text(chat, "/start", user=shopper)
    if not await tg.wait_sent(chat, 1, within=patience):
        failures.append("welcome")
        return
    await go.wait()
    await asyncio.sleep(rng.uniform(0, think[1]))
    tg.text(chat, "转人工", user=shopper)
    thread = await wait_topic(tg, name, patience)
    if thread is None:
        failures.append("no topic")
        return

    def in_topic(text: str) -> dict[str, Any]:
        return tg.text(AGENT_GROUP, text, user=agent, message_thread_id=thread,
                       is_topic_message=True)

    await asyncio.sleep(rng.uniform(*think))
    before = len(tg.sent_calls(chat))
    in_topic("/take")
    if not await tg.wait_sent(chat, before + 1, within=patience):  # "an agent joined"
        failures.append("take")
        return
    for turn in range(rounds):
        await asyncio.sleep(rng.uniform(*think))
        before = len(tg.sent_calls(chat))
        update = in_topic(f"您好，第{turn}次回复 {i}")
        pushed = tg.pushed_at[update["update_id"]]
        if not await tg.wait_sent(chat, before + 1, within=patience):
            failures.append("agent → shopper")
            return
        results["agent_to_shopper"].append(tg.sent_calls(chat)[before].at - pushed)
        await asyncio.sleep(rng.uniform(*think))
        line = f"好的，第{turn}句 {i}"
        start = len(tg.sent_calls(AGENT_GROUP))
        update = tg.text(chat, line, user=shopper)
        pushed = tg.pushed_at[update["update_id"]]
        call = await wait_topic_post(tg, thread, line, start, patience)
        if call is None:
            failures.append("shopper → topic")
            return
        results["shopper_to_topic"].append(call.at - pushed)


async def run_agents(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, list[float]] = {"agent_to_shopper": [], "shopper_to_topic": []}
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kefu-bench-tg-agents-") as tmp:
        async with FakeTelegram(flood_limits=False) as tg:
            started = time.perf_counter()
            bot = await start_bot(tg, True, Path(tmp), not args.no_flood_limits, AGENT_GROUP)
            print(f"bot up in {time.perf_counter() - started:.1f}s (in-process, agents' group "
                  "on)", file=sys.stderr)
            try:
                # Someone is online with no free seat, so shoppers queue (instead of being
                # asked to leave a message) until their agent takes them.
                tg.text(AGENT_GROUP, "/online 0", user=tg.user(FIRST_AGENT - 1, "值班"))
                go = asyncio.Event()
                tasks = [asyncio.create_task(handoff_pair(
                    tg, i, args.messages, (args.think_min, args.think_max), args.timeout,
                    random.Random(args.seed + i), go, results, failures))
                    for i in range(args.shoppers)]
                await tg.wait_until(lambda: all(tg.sent_calls(FIRST_CHAT + i)
                                                for i in range(args.shoppers)),
                                    within=args.timeout)
                began = time.perf_counter()
                go.set()
                await asyncio.wait_for(asyncio.gather(*tasks), args.max_seconds)
                elapsed = time.perf_counter() - began
            finally:
                await stop_bot(bot)
            refused = len([c for c in tg.calls if c.status == 429])
            topics = len(tg.topics[AGENT_GROUP])
    summary: dict[str, Any] = {
        "shoppers": args.shoppers, "rounds_per_pair": args.messages, "topics": topics,
        "failures": len(failures), "failed_at": sorted(set(failures)),
    }
    for key, values in results.items():
        values.sort()
        summary[key] = {"n": len(values),
                        "p50_ms": round(percentile(values, 50) * 1000, 1),
                        "p90_ms": round(percentile(values, 90) * 1000, 1),
                        "p99_ms": round(percentile(values, 99) * 1000, 1),
                        "max_ms": round(values[-1] * 1000, 1) if values else None}
    summary.update({"http_429": refused, "seconds": round(elapsed, 1),
                    "think_s": [args.think_min, args.think_max], "bot": "inproc",
                    "bot_flood_limits": not args.no_flood_limits,
                    "python": platform.python_version(), "cpus": os.cpu_count()})
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shoppers", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10, help="lines per shopper")
    parser.add_argument("--think-min", type=float, default=1.5,
                        help="seconds a shopper reads before typing again (min)")
    parser.add_argument("--think-max", type=float, default=3.5)
    parser.add_argument("--timeout", type=float, default=15.0, help="per reply")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="whole run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--inproc", action="store_true",
                        help="run the bot in this process instead of `kefu serve`")
    parser.add_argument("--no-flood-limits", action="store_true",
                        help="the bot's own flood limits off too (implies --inproc): "
                             "what the limits cost")
    parser.add_argument("--agent-chat", action="store_true",
                        help="the agents' forum group on too (handoffs open topics)")
    parser.add_argument("--agents", action="store_true",
                        help="measure the agents' side: agent → shopper and shopper → topic "
                             "(in-process; --messages is turns per pair)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.inproc = args.inproc or args.no_flood_limits
    with contextlib.suppress(KeyboardInterrupt):
        if args.agents:
            summary = asyncio.run(run_agents(args))
            if args.json:
                print(json.dumps(summary, ensure_ascii=False))
            else:
                print(table(["direction", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"],
                            [[key, v["n"], v["p50_ms"], v["p90_ms"], v["p99_ms"], v["max_ms"]]
                             for key in ("agent_to_shopper", "shopper_to_topic")
                             for v in [summary[key]]]))
                print(f"{summary['shoppers']} pairs, {summary['topics']} topics, "
                      f"{summary['failures']} failed, {summary['http_429']} 429s, "
                      f"{summary['seconds']}s", file=sys.stderr)
            return 0
        result = asyncio.run(run(args))
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            print(table(["shoppers", "turns", "unanswered", "p50 ms", "p90 ms", "p99 ms",
                         "max ms", "turns/s", "429s"],
                        [[result["shoppers"], result["turns"], result["unanswered"],
                          result["p50_ms"], result["p90_ms"], result["p99_ms"],
                          result["max_ms"], result["turns_per_s"], result["http_429"]]]))
        return 0
    return 130


if __name__ == "__main__":
    sys.exit(main())
