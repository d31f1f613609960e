"""Live reload: publish → every follower swaps within a second; hit counts on both backends.

A "follower" is a second Reloader with its own stores and BrainHolder, exactly what another
bot process has; it is told about a publish by the file pointer (embedded default) or Redis
pub/sub, reads the texts and the stored classifier, and swaps.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.brain import Brain, BrainHolder
from bot.editor.yamledit import set_fields
from bot.library import reload as reload_module
from bot.library.hits import FileHitCounter, HitCounter, MemoryHitCounter, RedisHitCounter
from bot.library.reload import Reloader
from bot.library.trained import FileTrainedStore, RedisTrainedStore, TrainedStore, encode
from bot.services import Services
from bot.storage import MemoryConversationStore
from bot.turn import Incoming
from config import Settings
from scripts_zh.loader import parse_library
from scripts_zh.renderer import render
from scripts_zh.versions import FileVersionStore, RedisVersionStore, VersionStore, texts_digest
from tests.conftest import redis_client

NEW_REPLIES = ["亲，新版回复一号～", "亲，新版回复二号～"]


def with_replies(texts: dict[str, str], intent: str, replies: list[str]) -> dict[str, str]:
    rel = f"intents/{intent}.yaml"
    return {**texts, rel: set_fields(texts[rel], {"replies": replies})}


@dataclass
class Process:
    """What one bot process has: a holder with the running Brain and a reloader."""

    brains: BrainHolder
    reloader: Reloader


@asynccontextmanager
async def backend(kind: str, root: Path, prefix: str) -> AsyncIterator[
        tuple[VersionStore, TrainedStore]]:
    if kind == "file":
        yield FileVersionStore(root / "library", poll=0.1), FileTrainedStore(root / "trained")
        return
    async with redis_client(prefix) as client:
        yield RedisVersionStore(client, prefix), RedisTrainedStore(client, prefix)


@pytest.fixture(scope="session")
def edited(shipped: dict[str, str], brain: Brain) -> tuple[dict[str, str], bytes]:
    """The full default library with new presale replies, trained once per session."""
    texts = with_replies(shipped, "presale", NEW_REPLIES)
    library, _ = parse_library(texts)
    assert library is not None
    trained = Brain.build(library, brain.shop_name)
    return texts, encode(library, trained.classifier)


@pytest.mark.parametrize("kind", ["file", "redis"])
async def test_followers_switch_within_a_second_of_a_publish(
        kind: str, tmp_path: Path, redis_prefix: str, shipped: dict[str, str], brain: Brain,
        edited: tuple[dict[str, str], bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    texts, blob = edited
    monkeypatch.setattr(reload_module, "PARSED_SIZE", 0)  # followers parse like a new process
    async with AsyncExitStack() as stack:
        processes = []
        for _ in range(2):
            versions, trained = await stack.enter_async_context(
                backend(kind, tmp_path, redis_prefix))
            holder = BrainHolder(brain)
            reloader = Reloader(holder, versions, trained, brain.shop_name, shipped)
            reloader.start()
            stack.push_async_callback(reloader.stop)
            processes.append(Process(holder, reloader))
        publisher, *followers = processes
        await publisher.reloader.trained.put(texts_digest(texts), blob)
        await asyncio.sleep(0.3)  # followers are subscribed / polling

        version = await publisher.reloader.publish(texts, "boss", "new replies", base=0)
        committed = publisher.reloader.last_swap[1]
        deadline = time.monotonic() + 5
        while any(f.reloader.running != version.number for f in followers):
            assert time.monotonic() < deadline, "a follower did not switch within 5 s"
            await asyncio.sleep(0.01)
        latencies = [f.reloader.last_swap[1] - committed for f in followers]
        print(f"\n[{kind}] publish→swap: publisher 0 ms, followers "
              + ", ".join(f"{s * 1000:.0f} ms" for s in latencies))
        for process in processes:
            assert process.brains.current.library.intents["presale"].replies == NEW_REPLIES
            assert process.brains.current.version == f"v1-{version.digest}"
        assert max(latencies) < 1.0

        back = await followers[0].reloader.rollback(0, "lily", base=1)  # from another process
        deadline = time.monotonic() + 5
        while any(p.reloader.running != back.number for p in processes):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        for process in processes:
            assert process.brains.current.library.intents["presale"].replies == \
                brain.library.intents["presale"].replies


async def test_a_published_version_survives_a_restart(settings: Settings, small_brain: Brain,
                                                      shipped: dict[str, str]) -> None:
    first = Services.build(settings, store=MemoryConversationStore(), brain=small_brain)
    assert first.library is not None and first.library.reloader is not None
    texts = with_replies(first.library.shipped, "presale", NEW_REPLIES)
    await first.library.reloader.publish(texts, "boss", "", base=0)
    await first.close()
    again = Services.build(settings, store=MemoryConversationStore())
    try:
        assert again.brains.current.version.startswith("v1-")
        assert again.brains.current.library.intents["presale"].replies == NEW_REPLIES
        turn = await again.engine.handle(Incoming("web", "s1", "有什么推荐的吗"))
        assert any(r.text in NEW_REPLIES for r in turn.replies)
    finally:
        await again.close()


async def test_no_message_is_answered_by_a_half_loaded_library(services: Services) -> None:
    assert services.library is not None and services.library.reloader is not None
    reloader = services.library.reloader
    brain = services.brains.current
    old = [render(t, {"shop_name": brain.shop_name, "customer_name": "", "slots": {}})
           for t in brain.library.intents["presale"].replies]
    texts = with_replies(services.library.shipped, "presale", NEW_REPLIES)
    await reloader.brain_for(texts)  # trained; now swaps are all that is left
    answers: list[list[str]] = []
    stop = asyncio.Event()

    async def shopper(n: int) -> None:
        i = 0
        while not stop.is_set():
            turn = await services.engine.handle(Incoming("web", f"s{n}-{i}", "有什么推荐的吗"))
            answers.append([r.text for r in turn.replies])
            i += 1
            await asyncio.sleep(0)  # the memory store never waits, so let the publisher run

    shoppers = [asyncio.create_task(shopper(n)) for n in range(4)]
    base = 0
    for _ in range(3):
        base = (await reloader.publish(texts, "boss", "", base=base)).number
        await asyncio.sleep(0.05)
        base = (await reloader.rollback(0, "boss", base=base)).number
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*shoppers)
    assert len(answers) > 20
    for replies in answers:
        presale = [r for r in replies if r in old or r in NEW_REPLIES]
        assert len(presale) == 1, replies


async def test_a_follower_survives_losing_redis(tmp_path: Path, redis_prefix: str,
                                                small_brain: Brain) -> None:
    texts = {rel: text for rel, text in _small_texts(small_brain).items()}
    async with redis_client(redis_prefix) as admin, \
            backend("redis", tmp_path, redis_prefix) as (versions, trained):
        follower = Reloader(BrainHolder(small_brain), versions, trained,
                            small_brain.shop_name, texts)
        follower.start()
        try:
            await asyncio.sleep(0.3)
            await admin.client_kill_filter(_type="pubsub")
            publisher = RedisVersionStore(admin, redis_prefix)
            version = await publisher.publish(with_replies(texts, "presale", NEW_REPLIES),
                                              "boss", "", base=0)
            deadline = time.monotonic() + 8
            while follower.running != version.number:
                assert time.monotonic() < deadline, "follower did not reconnect"
                await asyncio.sleep(0.05)
        finally:
            await follower.stop()


async def test_a_broken_published_version_is_not_loaded(tmp_path: Path,
                                                       small_brain: Brain) -> None:
    texts = _small_texts(small_brain)
    versions = FileVersionStore(tmp_path, poll=0.05)
    follower = Reloader(BrainHolder(small_brain), versions, FileTrainedStore(tmp_path / "t"),
                        small_brain.shop_name, texts)
    follower.start()
    try:
        await versions.publish({**texts, "system.yaml": "welcome: [\n"}, "cli", "", base=None)
        await asyncio.sleep(0.6)
        assert follower.running == 0
        assert follower.brains.current.library.digest == small_brain.library.digest
    finally:
        await follower.stop()


def _small_texts(brain: Brain) -> dict[str, str]:
    from scripts_zh.loader import read_texts

    return read_texts(brain.library.source)


@pytest.fixture(params=["memory", "file", "redis"])
async def hits(request: pytest.FixtureRequest, redis_prefix: str,
               tmp_path: Path) -> AsyncIterator[HitCounter]:
    if request.param == "memory":
        yield MemoryHitCounter()
        return
    if request.param == "file":
        yield FileHitCounter(tmp_path / "hits.json")
        return
    async with redis_client(redis_prefix) as client:
        yield RedisHitCounter(client, redis_prefix)


async def test_hit_counter_contract(hits: HitCounter) -> None:
    assert await hits.counts() == {}
    for intent in ("refund", "refund", "presale"):
        hits.count(intent)
    assert await hits.counts() == {"refund": 2, "presale": 1}
    hits.count("refund")
    await hits.flush()
    assert (await hits.counts())["refund"] == 3


async def test_file_hit_counts_survive_a_restart_and_a_broken_file(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture
                                                                   ) -> None:
    path = tmp_path / "library" / "hits.json"
    first = FileHitCounter(path)
    for intent in ("refund", "refund", "sizing"):
        first.count(intent)
    await first.close()
    assert await FileHitCounter(path).counts() == {"refund": 2, "sizing": 1}
    path.write_text("{not json", encoding="utf-8")
    broken = FileHitCounter(path)
    assert await broken.counts() == {} and "unreadable" in caplog.text
    broken.count("presale")
    await broken.flush()
    assert await FileHitCounter(path).counts() == {"presale": 1}


def test_the_small_library_is_the_fixture_library(small_brain: Brain) -> None:
    assert yaml.safe_load(_small_texts(small_brain)["intents/presale.yaml"])["name"] == "presale"
