"""Shared pieces of the benchmarks: the shopper message mix, percentiles, table printing.

The lines are written for the benchmarks (no held-out data): greetings, presale, sizing
with numbers, refunds and logistics with order numbers, Traditional, emoji, a few long
ones and a few angry ones. ``{order}``, ``{h}`` … are filled per message from a seeded RNG
so most numeric lines are distinct, as in real traffic, and caches keyed on text stay
honest.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: (category, weight, template). Weights give a plausible shop-chat mix.
LINES: tuple[tuple[str, int, str], ...] = (
    ("greeting", 3, "你好"),
    ("greeting", 3, "在吗？"),
    ("greeting", 2, "亲，有人吗"),
    ("greeting", 1, "哈喽哈喽 😊"),
    ("greeting", 1, "您好，想咨询一下"),
    ("presale", 3, "这件是纯棉的吗"),
    ("presale", 3, "这款还有货吗"),
    ("presale", 2, "包邮吗？偏远地区也包吗"),
    ("presale", 2, "有优惠券吗，能便宜点不"),
    ("presale", 1, "这个颜色会掉色吗"),
    ("presale", 1, "是正品吗？有没有吊牌"),
    ("presale", 1, "黑色和白色哪个更显瘦啊"),
    ("presale", 2, "今天下单什么时候能发货"),
    ("presale", 1, "这件衣服可以机洗吗，洗了会不会缩水"),
    ("presale", 1, "这个价格{price}元还能再优惠吗"),
    ("sizing", 3, "我身高{h}，体重{w}斤，穿什么码"),
    ("sizing", 2, "{h} {w}斤 M码够吗"),
    ("sizing", 2, "身高{h}cm 体重{kg}kg 要多大的"),
    ("sizing", 2, "平时穿L，这款偏大还是偏小"),
    ("sizing", 1, "鞋子平时穿{shoe}码，这双要拿多大"),
    ("sizing", 1, "腰围2尺2 裤子选几码"),
    ("sizing", 1, "1米{hh}，{w}斤，想穿宽松一点选哪个尺码"),
    ("sizing", 1, "尺码表在哪里看"),
    ("refund", 3, "我要退货"),
    ("refund", 2, "订单号{order}，申请退款"),
    ("refund", 1, "衣服太小了想换大一码，单号{order}"),
    ("refund", 1, "收到的颜色不对，怎么退"),
    ("refund", 2, "退款什么时候到账啊？已经三天了"),
    ("refund", 1, "七天无理由退货可以吗"),
    ("refund", 1, "能退差价吗，降价了{price}块"),
    ("logistics", 3, "发货了吗"),
    ("logistics", 2, "我的快递到哪了 订单{order}"),
    ("logistics", 1, "物流三天没更新了 😭"),
    ("logistics", 1, "能发顺丰吗"),
    ("logistics", 1, "什么时候能到上海"),
    ("traditional", 1, "請問這件有現貨嗎"),
    ("traditional", 1, "發貨了嗎？"),
    ("traditional", 1, "我要退貨，訂單號{order}"),
    ("traditional", 1, "身高{h}，體重{w}斤，穿什麼尺碼"),
    ("traditional", 1, "運費多少錢"),
    ("emoji", 1, "👍👍👍"),
    ("thanks", 2, "好的谢谢🙏"),
    ("thanks", 1, "收到了，质量很好 ❤️"),
    ("thanks", 1, "谢谢亲~~~"),
    ("goodbye", 1, "好的 再见"),
    ("complaint", 1, "等了五天还没发货，太慢了吧！！"),
    ("complaint", 1, "质量太差了 洗一次就掉色"),
    ("long", 1,
     "你好，我上周在你们店里买了一件羽绒服，订单号{order}，收到以后发现袖子那里有一块污渍，"
     "而且拉链也不太顺，我想问一下是退货还是换货比较快，退货的话运费谁出，换货的话大概几天能寄回来？"),
    ("long", 1,
     "我老公身高{h}，平时穿XL，肚子有点大，体重大概{w}斤，这款夹克想买给他，"
     "不知道选2XL会不会太大，袖长够不够，你们有详细的尺码表吗"),
    ("long", 1,
     "亲 我想问下这个连衣裙的面料是什么 夏天穿会不会热 还有就是腰那里有没有松紧 "
     "我平时穿M 腰围2尺1 买M合适吗 今天拍的话明天能发出吗 急着穿 谢谢啦🌸🌸"),
)


def fill(template: str, rng: random.Random) -> str:
    """One concrete line from a template: order numbers, heights, weights, sizes, prices."""
    if "{" not in template:
        return template
    h = rng.randint(150, 188)
    return template.format(
        order=str(rng.randint(10**15, 10**16 - 1)),
        h=h,
        hh=h - 100,
        w=rng.randint(85, 190),
        kg=rng.randint(43, 95),
        shoe=rng.randint(35, 44),
        price=rng.choice((59, 79, 99, 128, 169, 199, 239, 299)),
    )


def message_stream(n: int, seed: int = 7) -> list[tuple[str, str]]:
    """``n`` (category, line) pairs drawn from the weighted mix (deterministic for a seed)."""
    rng = random.Random(seed)
    picks = rng.choices(LINES, weights=[w for _, w, _ in LINES], k=n)
    return [(category, fill(template, rng)) for category, _, template in picks]


def conversation(n: int, rng: random.Random) -> list[str]:
    """A shopper's ``n`` lines: a greeting first, then lines from the weighted mix."""
    greetings = [t for c, _, t in LINES if c == "greeting"]
    others = [(t, w) for c, w, t in LINES if c != "greeting"]
    picks = rng.choices([t for t, _ in others], weights=[w for _, w in others], k=max(0, n - 1))
    return [fill(t, rng) for t in [rng.choice(greetings), *picks]][:n]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an already sorted sequence; NaN if empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def reference_loop_us(repeats: int = 7) -> float:
    """Best time in µs of a fixed pure-Python workload (string slicing, dict lookups, a
    Counter), to say how fast this machine runs Python: throughput figures from two
    machines compare only after dividing by it. Lower is faster."""
    text = "我身高一米七体重一百三十斤平时穿L码这件卫衣要拿多大的呢谢谢" * 2
    table_ = {text[i : i + 2]: i for i in range(0, len(text) - 1, 3)}
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(100):
            grams = [text[i : i + 2] for i in range(len(text) - 1)]
            hits = sum(1 for g in grams if table_.get(g) is not None)
            Counter(grams).most_common(3)
            assert hits
        best = min(best, time.perf_counter() - started)
    return best / 100 * 1e6


def pin_one_core() -> str:
    """Pin this process to one CPU (Linux); returns a note saying what happened."""
    if hasattr(os, "sched_setaffinity"):
        cpu = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to cpu {cpu}"
    return "not pinned (no sched_setaffinity)"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain, right-aligned text table (first column left-aligned)."""
    cells = [[str(h) for h in headers], *[[str(c) for c in r] for r in rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    out = []
    for k, row in enumerate(cells):
        parts = [_pad(c, widths[i], left=(i == 0)) for i, c in enumerate(row)]
        out.append("  ".join(parts).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _width(text: str) -> int:
    return sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1
               for ch in text)


def _pad(text: str, width: int, *, left: bool) -> str:
    gap = " " * (width - _width(text))
    return text + gap if left else gap + text


async def ready_port(stdout: asyncio.StreamReader, within: float) -> int | None:
    """The port a server subprocess announces with its first line ``READY port`` (see
    ``listening``), or None when it says something else or nothing within ``within`` seconds."""
    try:
        line = await asyncio.wait_for(stdout.readline(), within)
    except TimeoutError:
        return None
    return int(line.split()[1]) if line.startswith(b"READY ") else None


@asynccontextmanager
async def listening(app: Any) -> AsyncIterator[tuple[int, asyncio.Event]]:
    """Serve an aiohttp app on a free loopback port for a benchmark's server subprocess.

    Yields (port, stop): ``stop`` is set on SIGINT/SIGTERM or when the parent closes our
    stdin (EOF means it went away), so an orphaned server exits by itself.
    """
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def parent_gone() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=parent_gone, daemon=True).start()
    try:
        yield port, stop
    finally:
        await runner.cleanup()
