"""Busy-hour auto-replies: once per closed period, while the bot keeps answering."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.brain import Brain
from bot.services import Services
from bot.storage import MemoryConversationStore
from bot.turn import Incoming
from config import Settings, load_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The default business hours: 09:00-23:00 with a lunch break 12:00-13:30."""
    return load_settings(shop_name="测试小铺", data_dir=tmp_path / "data")


async def test_a_whole_week_of_auto_replies(settings: Settings, brain: Brain) -> None:
    clock = Clock(datetime(2026, 11, 23, 0, 0, tzinfo=SHANGHAI))  # a Monday
    services = Services.build(settings, store=MemoryConversationStore(), clock=clock, brain=brain)
    seen: list[tuple[datetime, str | None]] = []
    end = clock.now + timedelta(days=7)
    while clock.now < end:
        turn = await services.engine.handle(Incoming("test", "week", "这件有货吗"))
        assert turn.replies and turn.intent == "presale"
        seen.append((clock.now, turn.auto_reply))
        clock.now += timedelta(minutes=30)
    notices = [(when, kind) for when, kind in seen if kind]
    breaks = [when for when, kind in notices if kind == "break"]
    nights = [when for when, kind in notices if kind == "off_hours"]
    assert [(w.day, w.hour, w.minute) for w in breaks] == [(23 + d, 12, 0) for d in range(7)]
    assert [(w.day, w.hour) for w in nights] == [(23, 0)] + [(23 + d, 23) for d in range(7)]
    text_keys = {"break": "busy_break", "off_hours": "busy_off_hours"}
    assert all(text_keys[kind] in brain.library.system for _, kind in notices)
    open_turns = [kind for when, kind in seen if 9 <= when.hour < 12 or 14 <= when.hour < 23]
    assert set(open_turns) == {None}


async def test_busy_text_comes_first_and_the_bot_still_answers(settings: Settings,
                                                               brain: Brain) -> None:
    clock = Clock(datetime(2026, 11, 25, 23, 30, tzinfo=SHANGHAI))
    services = Services.build(settings, store=MemoryConversationStore(), clock=clock, brain=brain)
    turn = await services.engine.handle(Incoming("test", "night", "我要退货"))
    assert turn.auto_reply == "off_hours"
    assert len(turn.replies) >= 2
    assert turn.replies[0].text.split("{")[0][:4] in "".join(brain.library.system["busy_off_hours"])
    assert turn.intent == "refund"
    again = await services.engine.handle(Incoming("test", "night", "退货运费谁出"))
    assert again.auto_reply is None


def test_chat_at_a_time(tmp_path: object) -> None:
    import json

    from tests.bot.test_cli import run

    result = run("chat", "--json", "--at", "2026-11-25 12:10", stdin="你好\n你好\n",
                 env={"KEFU_HOURS": "{}"})
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["auto_reply"] for t in turns[1:]] == ["break", None]
    bad = run("chat", "--at", "tomorrow-ish", stdin="")
    assert bad.returncode == 2 and "--at" in bad.stderr
