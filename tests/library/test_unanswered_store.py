"""The unanswered-lines log on every backend, and the grouping of near-duplicates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.brain import canonical
from bot.editor.line_groups import group_lines
from bot.library.unanswered import (
    FileUnansweredLog,
    Line,
    MemoryUnansweredLog,
    RedisUnansweredLog,
    UnansweredLog,
)
from tests.conftest import redis_client


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


@pytest.fixture(params=["memory", "file", "redis"])
async def log(request: pytest.FixtureRequest, redis_prefix: str,
              tmp_path: Path) -> AsyncIterator[UnansweredLog]:
    kwargs: dict[str, Any] = {"cap": 5, "clock": Clock()}
    if request.param == "memory":
        yield MemoryUnansweredLog(**kwargs)
        return
    if request.param == "file":
        yield FileUnansweredLog(tmp_path / "unanswered.json", **kwargs)
        return
    async with redis_client(redis_prefix) as client:
        yield RedisUnansweredLog(client, redis_prefix, **kwargs)


async def test_the_log_keeps_the_newest_lines_newest_first(log: UnansweredLog) -> None:
    assert await log.recent() == []
    for i in range(7):
        log.unanswered(f"问题{i}", "presale", "action_clarify", "thickness", 0.3)
    await log.flush()
    log.unanswered("  ", None, "action_fallback", None, 0.0)  # blank lines are not kept
    log.unanswered("长" * 300, None, "action_fallback", None, 0.0)
    recent = await log.recent()
    assert [line.text for line in recent][1:] == ["问题6", "问题5", "问题4", "问题3"]
    assert recent[0].text == "长" * 200 and recent[0].intent is None
    assert recent[1] == Line("问题6", "presale", "action_clarify", "thickness", 0.3,
                             recent[1].at)
    log.unanswered("还没存下的", None, "action_fallback", None, 0.0)
    await log.forget(["问题5", "问题3"])
    assert [line.text for line in await log.recent()][2:] == ["问题6", "问题4"]


async def test_file_lines_survive_a_restart_and_a_broken_file(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "library" / "unanswered.json"
    first = FileUnansweredLog(path)
    first.unanswered("你们老板是谁", "fallback", "action_fallback", None, 0.0)
    await first.close()
    assert [line.text for line in await FileUnansweredLog(path).recent()] == ["你们老板是谁"]
    path.write_text("[not json", encoding="utf-8")
    assert await FileUnansweredLog(path).recent() == [] and "unreadable" in caplog.text


def test_near_duplicates_group_together_newest_first() -> None:
    def line(text: str, at: float, topic: str | None = None, score: float = 0.0) -> Line:
        return Line(text, "presale", "action_clarify", topic, score, at)

    groups = group_lines([line("包邮吗亲", 1, "shipping_free", 0.4), line("包邮吗？", 3),
                          line("你们老板是谁", 2), line("包邮吗", 4, "shipping_fee", 0.3),
                          line("包邮吗", 5, "shipping_free", 0.2)], canonical)
    assert [g.text for g in groups] == ["包邮吗", "你们老板是谁"]
    assert groups[0].count == 4 and groups[0].texts == ["包邮吗", "包邮吗？", "包邮吗亲"]
    assert groups[0].guess == "shipping_free" and groups[1].guess is None
