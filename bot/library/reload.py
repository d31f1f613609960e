"""Live reload: keep this process's BrainHolder on the current published version.

A new Brain is always built completely (parsed, validated, trained or read back from the
trained store) off the event loop, then installed with one ``BrainHolder.swap``; the engine
takes ``brains.current`` once per message, so no message sees a half-loaded library.

Publishing trains *before* committing, so after the commit this process swaps at once and
other processes (told by the store's ``watch``: Redis pub/sub, or the file pointer) read the
trained classifier instead of training again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping

from bot.brain import Brain, BrainHolder, match_topics
from bot.library.trained import TrainedStore, decode, encode
from scripts_zh.loader import LibraryError, parse_library
from scripts_zh.models import Library, Problem
from scripts_zh.versions import StaleDraft, Version, VersionStore, texts_digest

log = logging.getLogger(__name__)

CACHE_SIZE = 4
#: Seconds after a draft is saved before its Brain is built in the background.
WARM_DELAY = 2.0


_parsed: OrderedDict[str, tuple[Library | None, list[Problem]]] = OrderedDict()
PARSED_SIZE = 16


def parse_cached(texts: Mapping[str, str]) -> tuple[Library | None, list[Problem]]:
    """``parse_library`` remembered by digest (pages, trying and publishing share it)."""
    digest = texts_digest(texts)
    found = _parsed.get(digest)
    if found is None:
        found = parse_library(texts, source="editor")
        _parsed[digest] = found
        while len(_parsed) > PARSED_SIZE:
            _parsed.popitem(last=False)
    return found


async def check(texts: Mapping[str, str]) -> tuple[Library | None, list[Problem]]:
    """The library and every problem in ``texts``, parsed off the event loop."""
    return await asyncio.to_thread(parse_cached, dict(texts))


def _parse(texts: Mapping[str, str]) -> tuple[Library, list[Problem]]:
    library, problems = parse_cached(texts)
    if library is None:
        raise LibraryError([p for p in problems if p.severity == "error"])
    return library, problems


class Reloader:
    """Builds Brains for texts (cached by digest) and follows the published version."""

    def __init__(self, brains: BrainHolder, versions: VersionStore, trained: TrainedStore,
                 shop_name: str, shipped: Mapping[str, str], running: int = 0) -> None:
        self.brains = brains
        self.versions = versions
        self.trained = trained
        self.shop_name = shop_name
        self.shipped = dict(shipped)
        #: The published number this process answers with (0: the shipped YAML).
        self.running = running
        #: (number, monotonic time) of the last swap, for tests and the editor's status line.
        self.last_swap: tuple[int, float] = (running, time.monotonic())
        self._cache: OrderedDict[str, Brain] = OrderedDict()
        self._building: dict[str, asyncio.Future[Brain]] = {}
        self._stored: set[str] = set()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._warm: asyncio.TimerHandle | None = None
        running_brain = brains.current  # rolling back to it later needs no training
        self._cache[running_brain.library.digest] = running_brain

    # -- building ---------------------------------------------------------------------------

    def _build_blocking(self, digest: str, texts: Mapping[str, str], blob: bytes | None) -> Brain:
        compiled = decode(blob, digest) if blob else None
        if compiled is not None:  # validated and trained by the publisher: milliseconds
            library, classifier, topics = compiled
            return Brain(library, classifier, self.shop_name, library.digest,
                         matcher=match_topics(library, topics))
        library, _ = _parse(texts)
        return Brain.build(library, self.shop_name)

    async def brain_for(self, texts: Mapping[str, str]) -> Brain:
        """The Brain for these texts; raises LibraryError when they have errors."""
        digest = texts_digest(texts)
        cached = self._cache.get(digest)
        if cached is not None:
            self._cache.move_to_end(digest)
            return cached
        pending = self._building.get(digest)
        if pending is None:
            pending = asyncio.ensure_future(self._build(digest, dict(texts)))
            self._building[digest] = pending
            pending.add_done_callback(lambda _: self._building.pop(digest, None))
        return await asyncio.shield(pending)

    async def _build(self, digest: str, texts: dict[str, str]) -> Brain:
        started = time.perf_counter()
        blob = await self.trained.get(digest)
        brain = await asyncio.to_thread(self._build_blocking, digest, texts, blob)
        self._cache[digest] = brain
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        log.info("library %s ready in %.0f ms", digest, (time.perf_counter() - started) * 1000)
        return brain

    def warm(self, texts: Mapping[str, str], delay: float = WARM_DELAY) -> None:
        """Build a draft's Brain soon (after a pause in saving), so trying and publishing are
        quick; a newer save replaces the pending one."""
        if self._warm is not None:
            self._warm.cancel()
        snapshot = dict(texts)

        def start() -> None:
            self._warm = None
            task = asyncio.ensure_future(self.brain_for(snapshot))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

        self._warm = asyncio.get_running_loop().call_later(delay, start)

    async def _keep_trained(self, brain: Brain) -> None:
        digest = brain.library.digest
        if digest in self._stored:
            return
        try:
            blob = await asyncio.to_thread(encode, brain.library, brain.classifier,
                                           brain.reader.matcher.classifier)
        except Exception as exc:  # a cache: never a reason for a publish to fail
            log.warning("cannot keep the compiled library (%s); other processes will train", exc)
            return
        await self.trained.put(digest, blob)
        self._stored.add(digest)

    # -- publishing and following -----------------------------------------------------------

    def _install(self, number: int, brain: Brain) -> None:
        self.brains.swap(dataclasses.replace(brain, version=f"v{number}-{brain.library.digest}"))
        self.running = number
        self.last_swap = (number, time.monotonic())
        log.info("now answering with library v%d (%s)", number, brain.library.digest)

    async def publish(self, texts: Mapping[str, str], author: str, note: str,
                      base: int | None) -> Version:
        """Validate and train, then commit (StaleDraft if ``base`` is old), then swap here."""
        if base is not None and await self.versions.current_number() != base:
            raise StaleDraft(base, await self.versions.since(base))  # before a second of training
        brain = await self.brain_for(texts)
        await self._keep_trained(brain)
        version = await self.versions.publish(texts, author, note, base)
        async with self._lock:
            self._install(version.number, brain)
        return version

    async def rollback(self, number: int, author: str, base: int | None) -> Version:
        """Publish the texts of version ``number`` again as a new version."""
        texts = await self.texts_of(number)
        if texts is None:
            raise KeyError(number)
        return await self.publish(texts, author, f"rollback to v{number}", base)

    async def texts_of(self, number: int) -> dict[str, str] | None:
        if number == 0:
            return dict(self.shipped)
        version = await self.versions.get(number)
        return dict(version.texts) if version else None

    async def load(self, number: int) -> None:
        """Switch to ``number`` if it is still the current version once its Brain is ready."""
        if number == self.running:
            return
        texts = await self.texts_of(number)
        if texts is None:
            log.error("library v%d is announced but missing from the store", number)
            return
        brain = await self.brain_for(texts)
        async with self._lock:
            if number != self.running and await self.versions.current_number() == number:
                self._install(number, brain)

    async def follow(self) -> None:
        """Forever: load every version the store announces (restarting if anything breaks)."""
        while True:
            try:
                async for number in self.versions.watch():
                    try:
                        await self.load(number)
                    except LibraryError as exc:
                        log.error("published v%d does not load; keeping v%d:\n%s", number,
                                  self.running, exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following published versions failed; retrying")
                await asyncio.sleep(1.0)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self.follow())

    async def stop(self) -> None:
        if self._warm is not None:
            self._warm.cancel()
            self._warm = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
