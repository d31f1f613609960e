"""Shopper lines the bot had no topic for, kept for the editor's 没答上的问题 page.

The engine reports each such line (already masked: no phone numbers, order numbers or
addresses) through :meth:`UnansweredLog.unanswered`, which only appends to a local buffer,
so recording never slows or fails a reply. ``flush`` moves the buffer to where ``recent``
reads it: this process's memory, a JSON file in the data folder (embedded mode) or one
Redis list shared by every bot process. Each keeps the newest ``CAP`` lines.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

#: Lines kept (the oldest go first).
CAP = 2000
#: Longest line kept; longer ones are cut (they are rarely a question worth a phrasing).
MAX_CHARS = 200


@dataclass(frozen=True)
class Line:
    """One unanswered line: the masked text, how it was routed, the nearest topic."""

    text: str
    intent: str | None
    action: str
    topic: str | None
    score: float
    at: float

    def as_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Line | None:
        try:
            data = json.loads(raw)
            return cls(text=str(data["text"]), intent=data.get("intent"),
                       action=str(data.get("action") or ""), topic=data.get("topic"),
                       score=float(data.get("score") or 0.0), at=float(data.get("at") or 0.0))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


class UnansweredLog(ABC):
    """The newest unanswered lines, newest first."""

    def __init__(self, cap: int = CAP, clock: Callable[[], float] = time.time) -> None:
        self.cap = cap
        self.clock = clock
        self.pending: deque[Line] = deque(maxlen=cap)

    def unanswered(self, text: str, intent: str | None, action: str, best_topic: str | None,
                   score: float) -> None:
        """The engine's call for a line with no topic (a RouteObserver): a local append."""
        text = text.strip()[:MAX_CHARS]
        if text:
            self.pending.append(Line(text, intent, action, best_topic, round(score, 4),
                                     self.clock()))

    @abstractmethod
    async def flush(self) -> None:
        """Move pending lines to where ``recent`` reads them."""

    @abstractmethod
    async def recent(self) -> list[Line]:
        """Every kept line, newest first."""

    @abstractmethod
    async def forget(self, texts: Iterable[str]) -> None:
        """Drop the lines with these texts (the manager dealt with them)."""

    async def close(self) -> None:
        await self.flush()


class MemoryUnansweredLog(UnansweredLog):
    """This process only, since it started (tests, and the base of the file log)."""

    def __init__(self, cap: int = CAP, clock: Callable[[], float] = time.time) -> None:
        super().__init__(cap, clock)
        self.lines: deque[Line] = deque(maxlen=cap)  # oldest first

    async def flush(self) -> None:
        while self.pending:
            self.lines.append(self.pending.popleft())

    async def recent(self) -> list[Line]:
        await self.flush()
        return list(reversed(self.lines))

    async def forget(self, texts: Iterable[str]) -> None:
        await MemoryUnansweredLog.flush(self)  # not the file's: it holds the write lock
        gone = set(texts)
        kept = [line for line in self.lines if line.text not in gone]
        self.lines.clear()
        self.lines.extend(kept)


class FileUnansweredLog(MemoryUnansweredLog):
    """The embedded default: the lines in a JSON file of the data folder, so they survive a
    restart. An unreadable file starts empty (the lines are only a to-do list)."""

    def __init__(self, path: Path, cap: int = CAP,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(cap, clock)
        self.path = Path(path)
        self._writing = asyncio.Lock()
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            for item in raw if isinstance(raw, list) else []:
                line = Line.from_json(json.dumps(item))
                if line is not None:
                    self.lines.append(line)
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("unanswered lines in %s unreadable, starting empty: %s", self.path, exc)

    async def flush(self) -> None:
        if self.pending:
            await self._save(super().flush)

    async def forget(self, texts: Iterable[str]) -> None:
        gone = list(texts)
        await self._save(lambda: MemoryUnansweredLog.forget(self, gone))

    async def _save(self, change: Callable[[], Any]) -> None:
        async with self._writing:
            await change()
            snapshot = [asdict(line) for line in self.lines]
            try:
                await asyncio.to_thread(self._write, snapshot)
            except OSError as exc:
                log.warning("unanswered lines not saved yet: %s", exc)

    def _write(self, lines: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".unanswered.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(lines, handle, ensure_ascii=False)
        os.replace(tmp, self.path)


class RedisUnansweredLog(UnansweredLog):
    """One list ``{prefix}:unanswered`` (newest first) shared by every process."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "kefu", cap: int = CAP,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(cap, clock)
        self.redis = redis
        self.key = f"{prefix}:unanswered"

    async def flush(self) -> None:
        if not self.pending:
            return
        batch = list(self.pending)
        self.pending.clear()
        pipe = self.redis.pipeline(transaction=True)
        pipe.lpush(self.key, *[line.as_json() for line in batch])
        pipe.ltrim(self.key, 0, self.cap - 1)
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:
            self.pending.extendleft(reversed(batch))
            log.warning("unanswered lines not saved yet: %s", exc)

    async def _raw(self) -> list[bytes | str]:
        await self.flush()
        try:
            return list(await self.redis.lrange(self.key, 0, self.cap - 1))
        except (RedisError, OSError) as exc:
            log.warning("unanswered lines unavailable: %s", exc)
            return []

    async def recent(self) -> list[Line]:
        lines = [Line.from_json(raw) for raw in await self._raw()]
        return [line for line in lines if line is not None]

    async def forget(self, texts: Iterable[str]) -> None:
        gone = set(texts)
        doomed = [raw for raw in await self._raw()
                  if (line := Line.from_json(raw)) is not None and line.text in gone]
        if not doomed:
            return
        pipe = self.redis.pipeline(transaction=False)
        for raw in doomed:
            pipe.lrem(self.key, 0, raw if isinstance(raw, str) else raw.decode())
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("unanswered lines not removed: %s", exc)
