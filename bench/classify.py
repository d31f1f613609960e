"""Cost of understanding one shopper line, and of re-training the classifier.

Usage (from the repo root)::

    .venv/bin/python bench/classify.py                  # 20,000 messages, training x3
    .venv/bin/python bench/classify.py --messages 50000 --json

Part 1, one core, one plain loop: for every message the engine's own sequence (what
``intents.understand.Reader.understand`` does) — ``normalize(text)``,
``classifier.predict(norm.text)``, ``matcher.match(norm.text)`` (the library's topics),
``extract(norm.text)``, ``score(text, history)`` with the shopper's earlier lines as
history, then fit, bare number and masking — timed per stage with ``perf_counter_ns`` (the
timer calls cost well under 1 µs a message). The classifier
is trained from the default library exactly as the bot does (``Brain.build``). Messages
come from the mix in ``bench/_common.py`` (about 50 lines, numbers varied per message).

Part 2, re-training after a library edit: a synthetic library of 50 intents × 40 distinct
examples (composed from Chinese fragments) trained with ``IntentClassifier.train`` three
times (best and median), then the real default library the same way. One-time set-up
(e.g. loading a word dictionary on the first training) is measured once and reported apart,
because a running bot has already paid it when a manager publishes an edit.

One thread does all the work (BLAS/OpenMP limited to one thread); ``--pin`` also pins the
process to one CPU.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy is imported: one core means one core

import argparse  # noqa: E402
import gc  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    message_stream,
    percentile,
    pin_one_core,
    reference_loop_us,
    table,
)

from bot.brain import Brain, canonical  # noqa: E402
from config.settings import DEFAULT_LIBRARY  # noqa: E402
from intents.classifier import IntentClassifier, TrainingIntent  # noqa: E402
from intents.entities import extract, mask_pii  # noqa: E402
from intents.normalize import normalize  # noqa: E402
from intents.preferences import bare_number, detect_fit  # noqa: E402
from intents.sentiment import score  # noqa: E402
from scripts_zh.loader import load_library  # noqa: E402

TARGET_RATE = 5000.0  # messages per second
TARGET_P99_MS = 2.0
TARGET_TRAIN_S = 1.0
STAGES = ("normalize", "predict", "topics", "entities", "sentiment", "other")
HISTORY = 20  # the engine passes the shopper's last lines of the last 20 transcript entries
CONVERSATION = 10  # lines per simulated conversation (history resets after it)


# ----------------------------------------------------------------------------- part 1


def _text_caches() -> list[Callable[[], None]]:
    """``cache_clear`` of every functools cache in the understanding modules."""
    import intents.classifier
    import intents.entities
    import intents.features
    import intents.normalize
    import intents.numbers
    import intents.sentiment
    import intents.topics

    modules = (intents.classifier, intents.entities, intents.features, intents.normalize,
               intents.numbers, intents.sentiment, intents.topics)
    return [obj.cache_clear for m in modules for obj in vars(m).values()
            if callable(getattr(obj, "cache_clear", None))]


def run_pipeline(brain: Brain, messages: list[tuple[str, str]], max_seconds: float,
                 cold: bool = False) -> dict[str, Any]:
    """Time every stage of every message; stops early after max_seconds.

    ``cold``: before each message (untimed) empty every text-keyed cache, then re-score the
    history so that only the new line is unseen — what a line never seen before costs.
    """
    classifier = brain.classifier
    matcher = brain.reader.matcher
    clears = _text_caches() if cold else []
    n = len(messages)
    totals = [0] * n
    cpu = [0] * n
    stages = [[0] * n for _ in STAGES]
    cpu_clock = time.thread_time_ns
    history: list[str] = []
    clock = time.perf_counter_ns
    limit = clock() + int(max_seconds * 1e9)
    done = 0
    started = clock()
    for i, (_, text) in enumerate(messages):
        if i % CONVERSATION == 0:
            history = []
        if cold:
            for clear in clears:
                clear()
            # Earlier lines were seen when they arrived: re-score them against each other
            # so their cached forms (the repetition check's keys) are warm again.
            for old in history[-HISTORY:]:
                score(old, history[-HISTORY:])
        c0 = cpu_clock()
        t0 = clock()
        norm = normalize(text)
        t1 = clock()
        classifier.predict(norm.text)
        t2 = clock()
        matcher.match(norm.text)
        t3 = clock()
        extract(norm.text)
        t4 = clock()
        score(text, history[-HISTORY:])
        t5 = clock()
        detect_fit(norm.text)
        bare_number(norm.text)
        mask_pii(text)
        t6 = clock()
        cpu[i] = cpu_clock() - c0
        history.append(text)
        totals[i] = t6 - t0
        for stage, (start, end) in enumerate(itertools.pairwise((t0, t1, t2, t3, t4, t5, t6))):
            stages[stage][i] = end - start
        done = i + 1
        if t6 > limit:
            break
    wall = (clock() - started) / 1e9
    return {"done": done, "wall": wall, "caches": len(clears), "totals": totals[:done],
            "cpu": cpu[:done],
            "stages": [s[:done] for s in stages], "messages": messages[:done]}


def summarise_pipeline(raw: dict[str, Any]) -> dict[str, Any]:
    """msg/s, per-message percentiles, per-stage shares and per-category means.

    msg/s = messages / the summed per-message times (the loop's own overhead, well under
    1%, and a cold run's untimed cache clearing are left out).
    """
    done = raw["done"]
    totals = sorted(raw["totals"])
    cpu = sorted(raw["cpu"])
    wall = sum(totals) / 1e9
    stage_sum = [sum(s) for s in raw["stages"]]
    grand = sum(stage_sum) or 1
    per_stage = {}
    for name, values, total in zip(STAGES, raw["stages"], stage_sum, strict=True):
        ordered = sorted(values)
        per_stage[name] = {"share_pct": 100 * total / grand, "mean_us": total / done / 1e3,
                           "p50_us": percentile(ordered, 50) / 1e3,
                           "p99_us": percentile(ordered, 99) / 1e3,
                           "max_us": ordered[-1] / 1e3}
    by_category: dict[str, list[int]] = {}
    for (category, _), t in zip(raw["messages"], raw["totals"], strict=True):
        by_category.setdefault(category, []).append(t)
    categories = {c: {"n": len(v), "mean_us": sum(v) / len(v) / 1e3,
                      "p99_us": percentile(sorted(v), 99) / 1e3}
                  for c, v in sorted(by_category.items())}
    return {
        "messages": done, "seconds": wall, "msg_per_s": done / wall if wall else 0.0,
        "mean_us": sum(totals) / done / 1e3, "p50_us": percentile(totals, 50) / 1e3,
        "p90_us": percentile(totals, 90) / 1e3, "p99_us": percentile(totals, 99) / 1e3,
        "max_us": totals[-1] / 1e3, "stages": per_stage, "categories": categories,
        "cpu_p50_us": percentile(cpu, 50) / 1e3, "cpu_p99_us": percentile(cpu, 99) / 1e3,
        "on_cpu_pct": 100 * sum(cpu) / 1e9 / wall if wall else 0.0,
        "cpu_msg_per_s": done / (sum(cpu) / 1e9) if sum(cpu) else 0.0,
    }


# ----------------------------------------------------------------------------- part 2

_TOPICS = (
    "发票", "积分", "会员卡", "赠品", "包装盒", "保修卡", "说明书", "优惠码", "定金", "尾款",
    "预售", "拼团", "秒杀", "满减", "红包", "花呗分期", "白条", "运费险", "价保", "以旧换新",
    "刻字", "定制图案", "礼品卡", "电子券", "门店自提", "同城配送", "加急发货", "指定快递",
    "修改地址", "合并订单", "拆单", "缺货登记", "到货提醒", "库存", "批发价", "企业采购",
    "发票抬头", "纸质发票", "质检报告", "防伪码", "正品证书", "安装服务", "上门取件",
    "洗涤方式", "面料成分", "产地", "保质期", "色差", "线头", "异味",
)
_PREFIXES = ("", "请问", "亲，", "你好，", "麻烦问下", "想咨询一下", "我想问问", "客服，")
_FRAMES = (
    "{t}怎么弄", "{t}在哪里看", "{t}有没有", "能帮我查一下{t}吗", "{t}是怎么回事",
    "关于{t}的问题", "{t}多久能好", "{t}可以改吗", "{t}怎么申请", "{t}需要什么条件",
    "我的{t}不见了", "{t}还能用吗", "{t}有什么规定", "为什么没有{t}",
)
_SUFFIXES = ("", "？", "呢", "啊", "，谢谢", "，急")


def synthetic_library(n_intents: int = 50, n_examples: int = 40,
                      seed: int = 11) -> list[TrainingIntent]:
    """``n_intents`` intents, each with ``n_examples`` distinct composed example lines."""
    if n_intents > len(_TOPICS):
        raise ValueError(f"at most {len(_TOPICS)} synthetic intents")
    rng = random.Random(seed)
    intents = []
    for k, topic in enumerate(_TOPICS[:n_intents]):
        combos = list(itertools.product(_PREFIXES, _FRAMES, _SUFFIXES))
        rng.shuffle(combos)
        examples = [p + f.format(t=topic) + s for p, f, s in combos[:n_examples]]
        assert len(set(examples)) == n_examples
        intents.append(TrainingIntent(name=f"topic_{k:02d}", examples=tuple(examples),
                                      keywords=(topic, f"{topic}问题")))
    return intents


def time_training(intents: list[TrainingIntent], normalize_fn: Callable[[str], str],
                  repeats: int, max_seconds: float) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``repeats`` trainings (fewer if ``max_seconds`` runs out)."""
    walls: list[float] = []
    cpus: list[float] = []
    budget_end = time.perf_counter() + max_seconds
    for _ in range(repeats):
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        IntentClassifier.train(intents, normalize_fn)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu_started)
        if time.perf_counter() > budget_end:
            break
    return walls, cpus


def first_training_overhead() -> float:
    """Seconds the first training in a process costs more than the second (tiny library).

    Must run before anything else trains or normalises text in this process.
    """
    tiny = [TrainingIntent("a", ("你好", "在吗")), TrainingIntent("b", ("退货", "退款"))]
    started = time.perf_counter()
    IntentClassifier.train(tiny, canonical)
    first = time.perf_counter() - started
    started = time.perf_counter()
    IntentClassifier.train(tiny, canonical)
    return max(0.0, first - (time.perf_counter() - started))


def run_training(repeats: int, max_seconds: float) -> dict[str, Any]:
    """Synthetic 50×40 and the default library, ``repeats`` trainings each."""
    synthetic = synthetic_library()
    synth_times = time_training(synthetic, canonical, repeats, max_seconds)
    started = time.perf_counter()
    library = load_library(DEFAULT_LIBRARY)
    load_s = time.perf_counter() - started
    real = [TrainingIntent(name=i.name, examples=i.examples, keywords=i.keywords)
            for i in library.intents.values()]
    real_times = time_training(real, canonical, repeats, max_seconds)

    def row(times: tuple[list[float], list[float]],
            intents: list[TrainingIntent]) -> dict[str, Any]:
        walls, cpus = times
        return {"intents": len(intents), "examples": sum(len(i.examples) for i in intents),
                "keywords": sum(len(i.keywords) for i in intents), "runs": len(walls),
                "best_s": min(walls), "median_s": statistics.median(walls),
                "median_cpu_s": statistics.median(cpus), "all_s": [round(t, 4) for t in walls]}

    return {"synthetic": row(synth_times, synthetic), "default": row(real_times, real),
            "default_load_s": load_s}


# ----------------------------------------------------------------------------- output


def report(pipe: dict[str, Any], cold: dict[str, Any] | None, train: dict[str, Any],
           build_s: float, pinned: str, warmup: int, overhead_s: float,
           reference_us: float, topics: int = 0) -> str:
    """The tables and the targets (cold and training parts only when they ran)."""
    runs = [("mix (caches warm)", pipe)] + ([("unseen lines (cold)", cold)] if cold else [])

    def verdict(p: dict[str, Any]) -> str:
        rate = "meets" if p["msg_per_s"] >= TARGET_RATE else "MISSES"
        p99 = "meets" if p["p99_us"] / 1000 <= TARGET_P99_MS else "MISSES"
        return f"{rate} / {p99}"

    lines = [
        f"kefu understanding pipeline — {time.strftime('%Y-%m-%d %H:%M')}, "
        f"Python {platform.python_version()}, {pinned}, BLAS threads 1",
        "normalize + predict + topics + entities + sentiment + fit/number/mask per message;",
        f"classifier and topics from the default library (Brain.build {build_s:.2f} s, "
        f"{topics} topics); {warmup} warm-up messages not counted",
        f"machine: reference Python loop {reference_us:.1f} µs (bench/_common.py "
        "reference_loop_us; lower is faster: compare msg/s across machines only with it)",
        "",
        table(["run", "messages", "msg/s", "mean", "p50", "p90", "p99", "max", "msg/s cpu",
               "p99 cpu", "on cpu", "msg/s / p99 target"], [
            [name, p["messages"], f"{p['msg_per_s']:.0f}", _us(p["mean_us"]), _us(p["p50_us"]),
             _us(p["p90_us"]), _us(p["p99_us"]), _us(p["max_us"]), f"{p['cpu_msg_per_s']:.0f}",
             _us(p["cpu_p99_us"]), f"{p['on_cpu_pct']:.0f}%", verdict(p)]
            for name, p in runs
        ]),
        "",
        f"targets: ≥ {TARGET_RATE:.0f} msg/s, p99 ≤ {TARGET_P99_MS:g} ms. "
        "'cold' empties the text-keyed caches (jieba words, number parsing, sentiment keys)",
        "before each message: the cost of a line never seen before. 'msg/s cpu' and 'p99 cpu' use",
        "the thread's CPU time (immune to other processes; the verdict uses wall time); 'on cpu'",
        "< 100% means other processes preempted us and the wall-time figures are inflated.",
        "",
        table(["stage", *[h for name, _ in runs for h in (f"share {name.split()[0]}",
                                                          f"mean {name.split()[0]}",
                                                          f"p99 {name.split()[0]}")]],
              [[stage, *[v for _, p in runs for v in (
                  f"{p['stages'][stage]['share_pct']:.1f}%", _us(p["stages"][stage]["mean_us"]),
                  _us(p["stages"][stage]["p99_us"]))]]
               for stage in STAGES]),
        "",
        table(["category", "messages", *[h for name, _ in runs for h in (
            f"mean {name.split()[0]}", f"p99 {name.split()[0]}")]],
              [[c, v["n"], *[x for _, p in runs for x in (
                  _us(p["categories"][c]["mean_us"]), _us(p["categories"][c]["p99_us"]))]]
               for c, v in sorted(pipe["categories"].items(), key=lambda kv: -kv[1]["mean_us"])
               if all(c in p["categories"] for _, p in runs)]),
    ]
    if not train:
        return "\n".join(lines)
    lines += [
        "",
        "re-training (IntentClassifier.train with the bot's canonical())",
        "",
        table(["library", "intents", "examples", "keywords", "runs", "best", "median",
               "median cpu", "target"],
              [[name, r["intents"], r["examples"], r["keywords"], r["runs"],
                f"{r['best_s']:.3f} s", f"{r['median_s']:.3f} s", f"{r['median_cpu_s']:.3f} s",
                ("meets" if r["median_s"] <= TARGET_TRAIN_S else "MISSES")
                if name.startswith("synthetic") else "-"]
               for name, r in (("synthetic 50×40", train["synthetic"]),
                               ("default", train["default"]))]),
        "",
        f"target: 50 intents × 40 examples re-trained in ≤ {TARGET_TRAIN_S:g} s (median)",
        f"one-time overhead of the first training in a process: "
        f"{overhead_s:.2f} s (not in the figures above); "
        f"loading+validating the default library: {train['default_load_s']:.2f} s",
    ]
    return "\n".join(lines)


def _us(us: float) -> str:
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000,
                        help="timed messages (at least 20,000 for a stable p99)")
    parser.add_argument("--warmup", type=int, default=1000, help="untimed messages first")
    parser.add_argument("--repeats", type=int, default=3, help="trainings per library")
    parser.add_argument("--max-seconds", type=float, default=60.0,
                        help="time cap of the message loop and of each library's trainings")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--pin", action="store_true",
                        help="pin to one CPU (steadier on a quiet machine; on a shared one a "
                             "neighbour on that CPU preempts us instead of moving over)")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--skip-cold", action="store_true",
                        help="skip the second pass with caches emptied before each message")
    args = parser.parse_args(argv)
    if not 1 <= args.messages <= 2_000_000 or not 0 <= args.warmup <= 100_000:
        parser.error("--messages must be 1..2,000,000 and --warmup 0..100,000")
    if not 1 <= args.repeats <= 20 or not 0 < args.max_seconds <= 600:
        parser.error("--repeats must be 1..20 and --max-seconds in (0, 600]")

    pinned = pin_one_core() if args.pin else "single thread, not pinned"
    reference_us = reference_loop_us()
    overhead_s = first_training_overhead()
    started = time.perf_counter()
    brain = Brain.build(load_library(DEFAULT_LIBRARY), "bench")
    build_s = time.perf_counter() - started
    run_pipeline(brain, message_stream(args.warmup, seed=args.seed + 1000), args.max_seconds)
    messages = message_stream(args.messages, seed=args.seed)
    pipe = summarise_pipeline(run_pipeline(brain, messages, args.max_seconds))
    cold = None
    if not args.skip_cold:
        cold = summarise_pipeline(run_pipeline(brain, messages, args.max_seconds, cold=True))
    train: dict[str, Any] = {}
    if not args.skip_training:
        train = run_training(args.repeats, args.max_seconds)
    if args.json:
        print(json.dumps({
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "python": platform.python_version(),
            "cpu": pinned, "reference_loop_us": reference_us, "brain_build_s": build_s,
            "first_training_overhead_s": overhead_s,
            "pipeline": pipe, "pipeline_cold": cold, "training": train,
            "targets": {"msg_per_s": TARGET_RATE, "p99_ms": TARGET_P99_MS,
                        "train_50x40_s": TARGET_TRAIN_S},
        }, ensure_ascii=False, indent=2))
    else:
        print(report(pipe, cold, train, build_s, pinned, args.warmup, overhead_s, reference_us,
                     len(brain.library.topics)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
