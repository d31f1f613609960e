"""The library in a bot process: version store, trained store, hit counter, unanswered
lines, reloader.

Built by ``Services.build`` on the process's backend (files in the data folder, or the
backend's Redis client). At start-up the current published version is loaded if there is
one; otherwise the YAML in the library folder (version 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.brain import Brain, BrainHolder, match_topics
from bot.library.hits import FileHitCounter, HitCounter, RedisHitCounter
from bot.library.reload import Reloader
from bot.library.trained import FileTrainedStore, RedisTrainedStore, TrainedStore, decode
from bot.library.unanswered import (
    FileUnansweredLog,
    MemoryUnansweredLog,
    RedisUnansweredLog,
    UnansweredLog,
)
from config import Settings
from config.backend import Backend
from scripts_zh.loader import LibraryError, load_library, parse_library, read_texts
from scripts_zh.models import Library, Problem
from scripts_zh.versions import FileVersionStore, RedisVersionStore, Version, VersionStore

log = logging.getLogger(__name__)

T = TypeVar("T")
FLUSH_EVERY = 2.0


def make_stores(settings: Settings, backend: Backend
                ) -> tuple[VersionStore, TrainedStore, HitCounter]:
    """On the backend's Redis client when it has one, else in the data folder."""
    if (client := backend.redis) is not None:
        prefix = backend.prefix
        return (RedisVersionStore(client, prefix), RedisTrainedStore(client, prefix),
                RedisHitCounter(client, prefix))
    root = settings.data_dir / "library"
    return (FileVersionStore(root), FileTrainedStore(root / "trained"),
            FileHitCounter(root / "hits.json"))


def run_blocking(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from synchronous code, even inside a running loop.

    ``Services.build`` is synchronous but may be called from async code, so the coroutine
    runs on a private loop in a worker thread (see :meth:`Backend.leave_loop`).
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def make_unanswered(settings: Settings, hits: HitCounter) -> UnansweredLog:
    """Beside the hit counts: the same Redis client, or the data folder."""
    if isinstance(hits, RedisHitCounter):
        return RedisUnansweredLog(hits.redis)
    if isinstance(hits, FileHitCounter):
        return FileUnansweredLog(settings.data_dir / "library" / "unanswered.json")
    return MemoryUnansweredLog()


async def _published(versions: VersionStore, trained: TrainedStore, backend: Backend
                     ) -> tuple[Version | None, bytes | None]:
    try:
        version = await versions.current()
        blob = await trained.get(version.digest) if version else None
        return version, blob
    finally:
        await backend.leave_loop()


@dataclass
class LibraryRuntime:
    """The library's life cycle in one process: what live reload and the editor's pages need."""

    settings: Settings
    backend: Backend
    versions: VersionStore
    trained: TrainedStore
    hits: HitCounter
    shipped: dict[str, str]
    running: int = 0
    reloader: Reloader | None = None
    unanswered_lines: UnansweredLog = field(default_factory=MemoryUnansweredLog)
    _flusher: asyncio.Task[None] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings, backend: Backend) -> LibraryRuntime:
        versions, trained, hits = make_stores(settings, backend)
        try:
            shipped = read_texts(settings.library_dir)
        except LibraryError as exc:  # only fatal if it is needed: startup_brain says so
            log.warning("library folder unreadable: %s", exc)
            shipped = {}
        return cls(settings=settings, backend=backend, versions=versions, trained=trained,
                   hits=hits, shipped=shipped,
                   unanswered_lines=make_unanswered(settings, hits))

    # -- the engine's RouteObserver: both only touch local buffers --------------------------

    def route_chosen(self, intent: str | None, action: str) -> None:
        self.hits.route_chosen(intent, action)

    def unanswered(self, text: str, intent: str | None, action: str, best_topic: str | None,
                   score: float) -> None:
        self.unanswered_lines.unanswered(text, intent, action, best_topic, score)

    def startup_brain(self) -> Brain:
        """The current published version's Brain, or the library folder's when there is none.

        A published version that no longer loads (say, after an upgrade added a required
        text) is logged loudly and the library folder is used, so the bot still starts.
        """
        try:
            version, blob = run_blocking(
                lambda: _published(self.versions, self.trained, self.backend))
        except Exception as exc:
            log.warning("published versions unavailable (%s); using %s", exc,
                        self.settings.library_dir)
            version, blob = None, None
        if version is not None:
            started = time.perf_counter()
            compiled = decode(blob, version.digest) if blob else None
            library: Library | None = compiled[0] if compiled else None
            problems: list[Problem] = []
            if compiled is None:
                library, problems = parse_library(version.texts, source=f"v{version.number}")
            if library is not None:
                brain = (Brain(library, compiled[1], self.settings.shop_name, library.digest,
                               matcher=match_topics(library, compiled[2]))
                         if compiled is not None
                         else Brain.build(library, self.settings.shop_name))
                self.running = version.number
                log.info("library v%d (%s, by %s) loaded in %.0f ms", version.number,
                         library.digest, version.author, (time.perf_counter() - started) * 1000)
                return dataclasses.replace(brain, version=f"v{version.number}-{library.digest}")
            log.error("published library v%d has errors; using %s instead:\n%s",
                      version.number, self.settings.library_dir,
                      "\n".join(str(p) for p in problems if p.severity == "error"))
        library = load_library(self.settings.library_dir)
        started = time.perf_counter()
        brain = Brain.build(library, self.settings.shop_name)
        log.info("library %s loaded: %d intents, trained in %.0f ms", library.digest,
                 len(library.intents), (time.perf_counter() - started) * 1000)
        return brain

    def attach(self, brains: BrainHolder) -> None:
        """Follow published versions into ``brains``."""
        self.reloader = Reloader(brains, self.versions, self.trained, self.settings.shop_name,
                                 self.shipped, running=self.running)

    async def start(self) -> None:
        """Background work for a serving process: follow publishes, save hit counts."""
        if self.reloader is not None:
            self.reloader.start()
        if self._flusher is None:
            self._flusher = asyncio.ensure_future(self._flush_forever())

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            with contextlib.suppress(Exception):
                await self.hits.flush()
            with contextlib.suppress(Exception):
                await self.unanswered_lines.flush()

    async def stop(self) -> None:
        if self.reloader is not None:
            await self.reloader.stop()
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        with contextlib.suppress(Exception):
            await self.hits.flush()
        with contextlib.suppress(Exception):
            await self.unanswered_lines.flush()

    async def close(self) -> None:
        """Stop, then close the stores (a Redis client is the backend's, closed by it)."""
        await self.stop()
        for closer in (self.trained.close, self.versions.close):
            with contextlib.suppress(Exception):
                await closer()


__all__ = ["LibraryError", "LibraryRuntime", "make_stores"]
