"""Split messages: a shopper's burst of fragments (在吗 / 这件 / 有M码吗) read as one turn.

Each channel hands a shopper's text to :meth:`Coalescer.add` with the work that answers it.
A line that looks finished (a question, or long enough to stand alone) is answered at once,
together with any fragments waiting before it; a fragment waits up to ``pause`` seconds for
the rest. So a complete question is never delayed, and a lone fragment at most by the pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

Answer = Callable[[str], Awaitable[object]]

#: Ends like a question (吗/呢/么/?): the shopper has said what they want.
_QUESTION_END = re.compile(r"(?:[吗呢么嘛]|[?？])[\s!！~～。.]*$")
#: Long enough to stand alone.
STANDS_ALONE = 8


def looks_finished(text: str) -> bool:
    """Whether a line reads as a whole message rather than the start of one."""
    stripped = text.strip()
    return len(stripped) >= STANDS_ALONE or (
        len(stripped) >= 3 and bool(_QUESTION_END.search(stripped)))


@dataclass
class _Burst:
    parts: list[str]
    answer: Answer
    timer: asyncio.TimerHandle | None = None
    started: list[asyncio.Task[object]] = field(default_factory=list)


class Coalescer:
    """Per-chat bursts of fragments; ``pause`` 0 answers every line as it comes."""

    def __init__(self, pause: float, max_chars: int) -> None:
        self.pause = pause
        self.max_chars = max_chars
        self._bursts: dict[Hashable, _Burst] = {}
        self._running: set[asyncio.Task[object]] = set()

    def add(self, key: Hashable, text: str, answer: Answer) -> None:
        """Answer ``text`` (with the fragments before it) now or after the pause."""
        burst = self._bursts.get(key)
        if burst is not None and burst.timer is not None:
            burst.timer.cancel()
        if burst is None:
            burst = self._bursts[key] = _Burst([], answer)
        burst.parts.append(text)
        burst.answer = answer
        joined = len(" ".join(burst.parts))
        if self.pause <= 0 or looks_finished(text) or joined >= self.max_chars:
            self.flush(key)
            return
        burst.timer = asyncio.get_running_loop().call_later(self.pause, self.flush, key)

    def flush(self, key: Hashable) -> None:
        """Answer what ``key`` has waiting now (before a photo, so order is kept)."""
        burst = self._bursts.pop(key, None)
        if burst is None:
            return
        if burst.timer is not None:
            burst.timer.cancel()
        task = asyncio.ensure_future(burst.answer(" ".join(burst.parts)))
        self._running.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[object]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("answering a message failed", exc_info=task.exception())

    async def drain(self) -> None:
        """On shutdown: answer every waiting burst and let the answers finish."""
        for key in list(self._bursts):
            self.flush(key)
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._running, return_exceptions=True)
