"""Per-key serial execution: one chat's jobs run one after another, chats run side by side.

aiogram handles each update in its own task, so two messages a shopper sends within a few
milliseconds could be answered out of order. Both directions go through lanes instead: the
intake queues each update on its chat's lane the moment it arrives (synchronously, so
arrival order is lane order), and the sender queues each outgoing call on its chat's lane.
A lane's worker task exists only while the lane has work, so idle chats cost nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


class Lanes:
    """FIFO per key; a failing job is logged and the lane goes on with the next one."""

    def __init__(self, name: str = "lanes") -> None:
        self.name = name
        self._lanes: dict[Hashable, deque[Job]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._progress = asyncio.Event()
        self._closed = False

    @property
    def pending(self) -> int:
        """Jobs queued or running, over all lanes."""
        return self._pending

    def submit(self, key: Hashable, job: Job) -> None:
        """Queue ``job`` on ``key``'s lane. Synchronous on purpose: call order is run order."""
        if self._closed:
            raise RuntimeError(f"{self.name} is closed")
        lane = self._lanes.get(key)
        self._pending += 1
        self._idle.clear()
        if lane is not None:
            lane.append(job)
            return
        lane = deque([job])
        self._lanes[key] = lane
        task = asyncio.get_running_loop().create_task(self._drain(key, lane))
        self._workers.add(task)
        task.add_done_callback(self._workers.discard)

    async def _drain(self, key: Hashable, lane: deque[Job]) -> None:
        try:
            while lane:
                job = lane[0]
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s: a job on lane %s failed", self.name, key)
                finally:
                    lane.popleft()
                    self._done(1)
        finally:
            # Cancelled with work left: forget it, so counts stay true.
            self._done(len(lane))
            lane.clear()
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    def _done(self, n: int) -> None:
        self._pending -= n
        self._progress.set()
        if self._pending <= 0:
            self._pending = 0
            self._idle.set()

    async def wait_below(self, limit: int) -> None:
        """Back-pressure for the intake: wait while more than ``limit`` jobs are pending."""
        while self._pending > limit:
            self._progress.clear()
            await self._progress.wait()

    async def join(self, grace: float | None = None) -> bool:
        """Wait until every lane is empty; False when ``grace`` seconds ran out first."""
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            return False
        return True

    async def close(self, grace: float = 10.0) -> bool:
        """Let queued work finish (up to ``grace`` seconds), then cancel what is left."""
        drained = await self.join(grace)
        self._closed = True
        for task in list(self._workers):
            task.cancel()
        if self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)
        return drained
