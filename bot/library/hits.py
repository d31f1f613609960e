"""How often each intent answered a shopper, for the editor's intent list.

The engine calls :meth:`HitCounter.route_chosen` once per message; counting must never slow
or fail a reply, so it only bumps a local counter. The Redis backend adds the local counts to one
shared hash from the library's background task (and before every read), so the list shows
the sum over every bot process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from abc import ABC, abstractmethod
from collections import Counter
from pathlib import Path

from redis import asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

#: Routes that did not answer with the intent they name.
NOT_A_HIT = frozenset({"action_clarify", "action_suggest", "action_fallback"})


class HitCounter(ABC):
    """Counts per intent name."""

    def __init__(self) -> None:
        self.pending: Counter[str] = Counter()

    def count(self, intent: str) -> None:
        self.pending[intent] += 1

    def route_chosen(self, intent: str | None, action: str) -> None:
        """The engine's one call per routed message (a RouteObserver): a local bump only."""
        if intent and action not in NOT_A_HIT:
            self.pending[intent] += 1

    @abstractmethod
    async def flush(self) -> None:
        """Move pending counts to where ``counts`` reads them."""

    @abstractmethod
    async def counts(self) -> dict[str, int]: ...

    async def close(self) -> None:
        await self.flush()


class MemoryHitCounter(HitCounter):
    """This process only, since it started (tests, and the base of the file counter)."""

    def __init__(self) -> None:
        super().__init__()
        self.totals: Counter[str] = Counter()

    async def flush(self) -> None:
        self.totals.update(self.pending)
        self.pending.clear()

    async def counts(self) -> dict[str, int]:
        await self.flush()
        return dict(self.totals)


class FileHitCounter(MemoryHitCounter):
    """The embedded default: totals kept in a JSON file of the data folder, so the editor's
    figures survive a restart. An unreadable file starts from zero (it is only statistics)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._writing = asyncio.Lock()  # snapshots reach the file in the order they were taken
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self.totals.update({str(k): int(v) for k, v in raw.items()})
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning("hit counts in %s unreadable, starting from zero: %s", self.path, exc)

    async def flush(self) -> None:
        if not self.pending:
            return
        async with self._writing:
            await super().flush()
            try:
                await asyncio.to_thread(self._write, dict(self.totals))
            except OSError as exc:
                log.warning("hit counts not saved yet: %s", exc)

    def _write(self, totals: dict[str, int]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".hits.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(totals, handle, ensure_ascii=False)
        os.replace(tmp, self.path)


class RedisHitCounter(HitCounter):
    """One hash ``{prefix}:hits`` shared by every process; a lost flush is only statistics."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "kefu") -> None:
        super().__init__()
        self.redis = redis
        self.key = f"{prefix}:hits"

    async def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, Counter()
        pipe = self.redis.pipeline(transaction=False)
        for intent, n in batch.items():
            pipe.hincrby(self.key, intent, n)
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:
            self.pending.update(batch)
            log.warning("hit counts not saved yet: %s", exc)

    async def counts(self) -> dict[str, int]:
        await self.flush()
        try:
            raw = await self.redis.hgetall(self.key)
        except (RedisError, OSError) as exc:
            log.warning("hit counts unavailable: %s", exc)
            return dict(self.pending)
        return {k.decode() if isinstance(k, bytes) else str(k): int(v) for k, v in raw.items()}
