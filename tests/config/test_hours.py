"""Business hours: the schedule rules, aware datetimes across DST, and config errors.

Expected schedules are hand-written lists of transition times with fixed UTC offsets, so they
do not share the zoneinfo arithmetic of the code under test.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from config import Settings, SettingsError, load_settings
from config.hours import (
    DAYS,
    BusinessHours,
    HoursStatus,
    ShopState,
    TimeWindow,
    parse_window,
    status_at,
)
from config.settings import DEFAULT_LIBRARY

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
CST = timezone(timedelta(hours=8))  # Asia/Shanghai has no DST: a fixed offset is exact.
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "kefu.example.yaml"
STEP = timedelta(minutes=15)


def sh(text: str) -> datetime:
    """Shanghai wall time "YYYY-MM-DD HH:MM" as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def hours_of(data: dict[str, Any]) -> BusinessHours:
    return BusinessHours.model_validate(data)


# --- a whole week, 15 minutes at a time -------------------------------------------------------

# Mon 2026-11-23 .. Sun 2026-11-29: weekdays default 09:00-23:00 with lunch, Wednesday a
# holiday, Thursday a special day, Friday split with a late window past midnight, Saturday a
# dinner break, Sunday a night window into Monday.
WEEK = hours_of({
    "weekly": {
        "fri": ["09:00-12:00", "13:00-01:30"],
        "sat": ["10:00-22:00"],
        "sun": ["10:00-12:00", "20:00-02:00"],
    },
    "breaks": [
        {"name": "lunch", "window": "12:00-13:30", "days": ["mon", "tue", "wed", "thu", "fri"]},
        {"name": "dinner", "window": "18:00-18:30", "days": ["sat"], "text": "busy_dinner"},
    ],
    "holidays": [{"date": "2026-11-25", "name": "test_holiday"}],
    "special_days": [{"date": "2026-11-26", "windows": ["08:00-24:00"]}],
})

# (Shanghai wall time, state, break name for breaks)
WEEK_TRANSITIONS: list[tuple[str, ShopState, str | None]] = [
    ("2026-11-23 00:00", "open", None),  # Sunday 11-22's 20:00-02:00 window
    ("2026-11-23 02:00", "off_hours", None),
    ("2026-11-23 09:00", "open", None),
    ("2026-11-23 12:00", "break", "lunch"),
    ("2026-11-23 13:30", "open", None),
    ("2026-11-23 23:00", "off_hours", None),
    ("2026-11-24 09:00", "open", None),
    ("2026-11-24 12:00", "break", "lunch"),
    ("2026-11-24 13:30", "open", None),
    ("2026-11-24 23:00", "off_hours", None),
    # Wednesday 11-25: holiday, closed all day.
    ("2026-11-26 08:00", "open", None),  # special day 08:00-24:00
    ("2026-11-26 12:00", "break", "lunch"),
    ("2026-11-26 13:30", "open", None),
    ("2026-11-27 00:00", "off_hours", None),
    ("2026-11-27 09:00", "open", None),
    ("2026-11-27 12:00", "off_hours", None),  # lunch, but outside any window: closed
    ("2026-11-27 13:00", "break", "lunch"),  # window reopens inside the lunch break
    ("2026-11-27 13:30", "open", None),
    ("2026-11-28 01:30", "off_hours", None),  # Friday's window ends on Saturday
    ("2026-11-28 10:00", "open", None),
    ("2026-11-28 18:00", "break", "dinner"),
    ("2026-11-28 18:30", "open", None),
    ("2026-11-28 22:00", "off_hours", None),
    ("2026-11-29 10:00", "open", None),
    ("2026-11-29 12:00", "off_hours", None),
    ("2026-11-29 20:00", "open", None),
    ("2026-11-30 02:00", "off_hours", None),  # Sunday -> Monday
    ("2026-11-30 09:00", "open", None),
    ("2026-11-30 12:00", "break", "lunch"),
    ("2026-11-30 13:30", "open", None),
    ("2026-11-30 23:00", "off_hours", None),
    ("2026-12-01 09:00", "open", None),  # after the walk; gives the last opens_at
]

TEXT_KEYS = {"lunch": "busy_break", "dinner": "busy_dinner"}

#: (instant, state, episode) — the episode as the bot should see it, None while open.
Transition = tuple[datetime, ShopState, str | None]


def shanghai_transitions() -> list[Transition]:
    result: list[Transition] = []
    for wall, state, name in WEEK_TRANSITIONS:
        episode = {
            "open": None,
            "off_hours": f"off:{wall.replace(' ', 'T')}",
            "break": f"break:{name}:{wall[:10]}",
        }[state]
        result.append((sh(wall), state, episode))
    return result


def expected_at(transitions: Sequence[Transition], moment: datetime) -> tuple[int, HoursStatus]:
    """The period index and status the hand-written transitions give for ``moment``."""
    index = max(i for i, (at, _, _) in enumerate(transitions) if at <= moment)
    _, state, episode = transitions[index]
    opens_at = next((t for t, s, _ in transitions[index + 1:] if s == "open"), None)
    if state == "open":
        return index, HoursStatus("open", None, None, None)
    if state == "break":
        assert episode is not None
        text = TEXT_KEYS[episode.split(":")[1]]
        return index, HoursStatus("break", text, episode, opens_at)
    return index, HoursStatus("off_hours", "busy_off_hours", episode, opens_at)


def expected_changes(
    transitions: Sequence[Transition], start: datetime, end: datetime
) -> list[tuple[datetime, ShopState]]:
    """The changes a walk from start to end should observe (the first one at start)."""
    changes = []
    for i, (at, state, _) in enumerate(transitions):
        following = transitions[i + 1][0] if i + 1 < len(transitions) else None
        if at < end and (following is None or following > start):
            changes.append((max(at, start), state))
    return changes


def walk(
    hours: BusinessHours,
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    transitions: Sequence[Transition],
) -> list[tuple[datetime, ShopState]]:
    """Step from start to end, compare every status, return the observed changes of state."""
    seen: list[tuple[datetime, ShopState]] = []
    episodes: dict[str, int] = {}
    moment = start
    while moment < end:
        got = status_at(hours, moment, tz)
        period, want = expected_at(transitions, moment)
        assert got == want, f"at {moment.astimezone(tz)}"
        assert got.opens_at is None or got.opens_at.tzinfo is tz
        if got.episode is not None:
            # Stable within a period, never reused by another period.
            assert episodes.setdefault(got.episode, period) == period, got.episode
        if not seen or seen[-1][1] != got.state:
            seen.append((moment, got.state))
        moment += STEP
    return seen


def test_week_in_15_minute_steps() -> None:
    transitions = shanghai_transitions()
    start, end = sh("2026-11-23 00:00"), sh("2026-12-01 00:00")
    seen = walk(WEEK, SHANGHAI, start, end, transitions)
    assert seen == expected_changes(transitions, start, end)
    # The walk really covered every kind of change.
    pairs = {(a, b) for (_, a), (_, b) in pairwise(seen)}
    assert pairs == {
        ("open", "break"), ("break", "open"), ("open", "off_hours"), ("off_hours", "open"),
        ("off_hours", "break"),
    }


# --- single moments -----------------------------------------------------------------------------

DEFAULT = BusinessHours()
NIGHT = hours_of({"weekly": {"sun": ["20:00-02:00"], "mon": []}, "breaks": []})
SPECIAL = hours_of({
    "holidays": [{"date": "2026-10-01"}, {"date": "2026-11-12"}],
    "special_days": [
        {"date": "2026-11-11", "windows": ["00:00-24:00"], "name": "double_eleven"},
        {"date": "2026-11-12", "windows": ["00:00-24:00"]},  # also a holiday: holiday wins
        {"date": "2026-11-13", "windows": []},
    ],
})
LATE_BREAK = hours_of({
    "weekly": {"fri": ["20:00-02:00"]},
    "breaks": [{"name": "shift", "window": "23:30-00:30", "days": ["fri"], "text": "busy_shift"}],
})
HOLIDAY_AFTER_NIGHT = hours_of({
    "weekly": {"sun": ["20:00-02:00"]},
    "holidays": [{"date": "2026-11-30"}],
    "breaks": [],
})
CASES: list[tuple[str, BusinessHours, str, ShopState, str | None, str | None]] = [
    # (id, hours, Shanghai wall time, state, episode, opens_at)
    ("default before opening", DEFAULT, "2026-11-25 08:59", "off_hours",
     "off:2026-11-24T23:00", "2026-11-25 09:00"),
    ("default opening minute", DEFAULT, "2026-11-25 09:00", "open", None, None),
    ("default lunch starts", DEFAULT, "2026-11-25 12:00", "break",
     "break:lunch:2026-11-25", "2026-11-25 13:30"),
    ("default lunch last minute", DEFAULT, "2026-11-25 13:29", "break",
     "break:lunch:2026-11-25", "2026-11-25 13:30"),
    ("default lunch also sunday", DEFAULT, "2026-11-29 12:30", "break",
     "break:lunch:2026-11-29", "2026-11-29 13:30"),
    ("default last open minute", DEFAULT, "2026-11-25 22:59", "open", None, None),
    ("default closing", DEFAULT, "2026-11-25 23:00", "off_hours",
     "off:2026-11-25T23:00", "2026-11-26 09:00"),
    ("default after midnight", DEFAULT, "2026-11-26 00:30", "off_hours",
     "off:2026-11-25T23:00", "2026-11-26 09:00"),
    ("night window sunday", NIGHT, "2026-11-29 23:59", "open", None, None),
    ("night window into monday", NIGHT, "2026-11-30 01:59", "open", None, None),
    ("night window ends monday", NIGHT, "2026-11-30 02:00", "off_hours",
     "off:2026-11-30T02:00", "2026-12-01 09:00"),
    ("monday closed all day", NIGHT, "2026-11-30 15:00", "off_hours",
     "off:2026-11-30T02:00", "2026-12-01 09:00"),
    ("holiday closes all day", SPECIAL, "2026-10-01 10:00", "off_hours",
     "off:2026-09-30T23:00", "2026-10-02 09:00"),
    ("special day open at night", SPECIAL, "2026-11-11 03:00", "open", None, None),
    ("special day still has lunch", SPECIAL, "2026-11-11 12:15", "break",
     "break:lunch:2026-11-11", "2026-11-11 13:30"),
    ("special day runs to 24:00", SPECIAL, "2026-11-11 23:59", "open", None, None),
    ("holiday beats special day", SPECIAL, "2026-11-12 03:00", "off_hours",
     "off:2026-11-12T00:00", "2026-11-14 09:00"),
    ("special day with no windows", SPECIAL, "2026-11-13 10:00", "off_hours",
     "off:2026-11-12T00:00", "2026-11-14 09:00"),
    ("day before special day", SPECIAL, "2026-11-10 23:30", "off_hours",
     "off:2026-11-10T23:00", "2026-11-11 00:00"),
    ("break across midnight, before", LATE_BREAK, "2026-11-27 23:29", "open", None, None),
    ("break across midnight", LATE_BREAK, "2026-11-28 00:15", "break",
     "break:shift:2026-11-27", "2026-11-28 00:30"),
    ("break across midnight, after", LATE_BREAK, "2026-11-28 00:30", "open", None, None),
    ("holiday keeps the night before", HOLIDAY_AFTER_NIGHT, "2026-11-30 01:00", "open",
     None, None),
    ("holiday after the night", HOLIDAY_AFTER_NIGHT, "2026-11-30 09:30", "off_hours",
     "off:2026-11-30T02:00", "2026-12-01 09:00"),
]


@pytest.mark.parametrize(
    ("hours", "when", "state", "episode", "opens_at"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_status_at(
    hours: BusinessHours,
    when: str,
    state: ShopState,
    episode: str | None,
    opens_at: str | None,
) -> None:
    got = status_at(hours, sh(when), SHANGHAI)
    assert (got.state, got.episode) == (state, episode)
    assert got.opens_at == (sh(opens_at) if opens_at else None)
    if got.opens_at is not None:
        assert got.opens_at.tzinfo is SHANGHAI


@pytest.mark.parametrize(
    ("hours", "state", "text_key"),
    [(DEFAULT, "off_hours", "busy_off_hours"), (LATE_BREAK, "break", "busy_shift")],
)
def test_text_key(hours: BusinessHours, state: ShopState, text_key: str) -> None:
    got = status_at(hours, sh("2026-11-28 00:15"), SHANGHAI)
    assert (got.state, got.text_key) == (state, text_key)


def test_open_has_no_text_episode_or_opening() -> None:
    assert status_at(DEFAULT, sh("2026-11-25 10:00"), SHANGHAI) == HoursStatus(
        "open", None, None, None
    )


def test_episodes_stable_within_and_distinct_across_periods() -> None:
    def episode(at: str) -> str | None:
        return status_at(DEFAULT, sh(at), SHANGHAI).episode

    night = {episode(t) for t in ("2026-11-25 23:00", "2026-11-26 03:00", "2026-11-26 08:59")}
    lunch = {episode(t) for t in ("2026-11-26 12:00", "2026-11-26 12:45", "2026-11-26 13:29")}
    assert len(night) == len(lunch) == 1
    assert night != lunch
    assert episode("2026-11-26 23:00") not in night
    assert episode("2026-11-27 12:00") not in lunch


def test_never_open_again() -> None:
    closed = hours_of({"weekly": {day: [] for day in DAYS}})
    got = status_at(closed, sh("2026-11-25 10:00"), SHANGHAI)
    assert got == HoursStatus("off_hours", "busy_off_hours", "off:closed", None)


def test_long_closure_still_finds_the_previous_close_and_next_opening() -> None:
    # Closed for a month: beyond the short search steps.
    holidays = [{"date": str(date(2026, 1, 1) + timedelta(days=n))} for n in range(31)]
    hours = hours_of({"holidays": holidays})
    got = status_at(hours, sh("2026-01-20 10:00"), SHANGHAI)
    assert got.episode == "off:2025-12-31T23:00"
    assert got.opens_at == sh("2026-02-01 09:00")


def test_queue_limit() -> None:
    assert not DEFAULT.queue_busy(20)
    assert DEFAULT.queue_busy(21)
    assert hours_of({"queue_limit": 0}).queue_busy(1)


def test_text_keys_lists_every_key_it_may_return() -> None:
    assert WEEK.text_keys() == {"busy_off_hours", "busy_break", "busy_dinner"}


# --- time zones -------------------------------------------------------------------------------


def test_same_instant_in_any_zone_gives_the_same_status() -> None:
    local = sh("2026-11-25 12:10")
    for when in (local, local.astimezone(UTC), local.astimezone(ZoneInfo("America/New_York"))):
        got = status_at(DEFAULT, when, SHANGHAI)
        assert got.state == "break"
        assert got.episode == "break:lunch:2026-11-25"
        assert got.opens_at == local.replace(hour=13, minute=30)
        assert got.opens_at is not None and got.opens_at.utcoffset() == timedelta(hours=8)


def test_the_shop_zone_decides() -> None:
    # 10:00 UTC is 18:00 in Shanghai (open) but 05:00 in New York (closed).
    when = utc("2026-11-25 10:00")
    assert status_at(DEFAULT, when, SHANGHAI).state == "open"
    assert status_at(DEFAULT, when, ZoneInfo("America/New_York")).state == "off_hours"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        status_at(DEFAULT, datetime(2026, 11, 25, 12, 0), SHANGHAI)


BERLIN_DST = hours_of({
    "weekly": {"sat": ["20:00-03:30"], "sun": ["09:00-17:00"]},
    "breaks": [],
})
BERLIN_FALL = hours_of({
    "weekly": {"sat": ["20:00-02:30"], "sun": ["09:00-17:00"]},
    "breaks": [],
})


@pytest.mark.parametrize(
    ("hours", "start", "end", "transitions"),
    [
        pytest.param(
            # 2026-03-29 02:00 CET -> 03:00 CEST: the Saturday night window lasts 6.5 hours.
            BERLIN_DST, "2026-03-28 12:00", "2026-03-29 20:00",
            [("2026-03-27 22:00", "off_hours", "off:2026-03-27T23:00"),  # Fri 23:00 CET
             ("2026-03-28 19:00", "open", None),  # Sat 20:00 CET
             ("2026-03-29 01:30", "off_hours", "off:2026-03-29T03:30"),  # Sun 03:30 CEST
             ("2026-03-29 07:00", "open", None),  # Sun 09:00 CEST
             ("2026-03-29 15:00", "off_hours", "off:2026-03-29T17:00"),  # Sun 17:00 CEST
             ("2026-03-30 07:00", "open", None)],  # Mon 09:00 CEST
            id="spring-forward",
        ),
        pytest.param(
            # 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice, the first one ends it.
            BERLIN_FALL, "2026-10-24 12:00", "2026-10-25 20:00",
            [("2026-10-23 21:00", "off_hours", "off:2026-10-23T23:00"),  # Fri 23:00 CEST
             ("2026-10-24 18:00", "open", None),  # Sat 20:00 CEST
             ("2026-10-25 00:30", "off_hours", "off:2026-10-25T02:30"),  # Sun 02:30 CEST
             ("2026-10-25 08:00", "open", None),  # Sun 09:00 CET
             ("2026-10-25 16:00", "off_hours", "off:2026-10-25T17:00"),  # Sun 17:00 CET
             ("2026-10-26 08:00", "open", None)],  # Mon 09:00 CET
            id="fall-back",
        ),
    ],
)
def test_berlin_across_dst(
    hours: BusinessHours,
    start: str,
    end: str,
    transitions: list[tuple[str, ShopState, str | None]],
) -> None:
    expected = [(utc(at), state, episode) for at, state, episode in transitions]
    seen = walk(hours, BERLIN, utc(start), utc(end), expected)
    assert seen == expected_changes(expected, utc(start), utc(end))


def test_berlin_opens_at_carries_the_new_offset() -> None:
    got = status_at(BERLIN_DST, utc("2026-03-29 02:00"), BERLIN)
    assert got.state == "off_hours"
    assert got.episode == "off:2026-03-29T03:30"
    assert got.opens_at is not None
    assert (got.opens_at.hour, got.opens_at.utcoffset()) == (9, timedelta(hours=2))
    assert got.opens_at == utc("2026-03-29 07:00")


def test_window_starting_in_the_spring_gap_opens_when_the_clock_gets_there() -> None:
    # 02:30 does not exist on 2026-03-29 in Berlin; it resolves to 03:30 CEST (01:30 UTC).
    hours = hours_of({"weekly": {"sun": ["02:30-05:00"]}, "breaks": []})
    before = status_at(hours, utc("2026-03-29 01:15"), BERLIN)
    assert before.opens_at == utc("2026-03-29 01:30")
    assert status_at(hours, utc("2026-03-29 01:30"), BERLIN).state == "open"
    assert status_at(hours, utc("2026-03-29 03:00"), BERLIN).state == "off_hours"


# --- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "window", "canonical"),
    [
        ("09:00-23:00", TimeWindow(540, 1380), "09:00-23:00"),
        ("9:00 - 18:30", TimeWindow(540, 1110), "09:00-18:30"),
        ("00:00-24:00", TimeWindow(0, 1440), "00:00-24:00"),
        ("20:00-02:00", TimeWindow(1200, 1560), "20:00-02:00"),
        ("20:00-00:00", TimeWindow(1200, 1440), "20:00-24:00"),
        ("23:59-00:01", TimeWindow(1439, 1441), "23:59-00:01"),
    ],
)
def test_parse_window(text: str, window: TimeWindow, canonical: str) -> None:
    assert parse_window(text) == window
    assert str(window) == canonical


def test_round_trip_through_json() -> None:
    dumped = WEEK.model_dump(mode="json")
    assert dumped["weekly"]["sun"] == ["10:00-12:00", "20:00-02:00"]
    assert dumped["holidays"] == [{"date": "2026-11-25", "name": "test_holiday"}]
    assert BusinessHours.model_validate(json.loads(json.dumps(dumped))) == WEEK


def test_unquoted_yaml_dates_and_single_window(tmp_path: Path) -> None:
    path = tmp_path / "kefu.yaml"
    path.write_text(
        "hours:\n"
        "  weekly: {sat: '10:00-22:00'}\n"
        "  holidays: [{date: 2026-10-01}]\n"
        "  special_days: [{date: 2026-11-11, windows: ['00:00-24:00']}]\n",
        encoding="utf-8",
    )
    hours = load_settings(path).hours
    assert hours.weekly.sat == (TimeWindow(600, 1320),)
    assert hours.weekly.mon == (TimeWindow(540, 1380),)  # days left out keep the default
    assert hours.windows_on(date(2026, 10, 1)) == ()
    assert hours.windows_on(date(2026, 11, 11)) == (TimeWindow(0, 1440),)


# --- configuration errors -----------------------------------------------------------------------

BAD_HOURS: list[tuple[str, Any, str, str]] = [
    # (id, hours value, key named in the message, words in the message)
    ("bad time", {"weekly": {"mon": ["25:00-26:00"]}}, "hours.weekly.mon:", "25:00"),
    ("bad minutes", {"weekly": {"mon": ["09:60-18:00"]}}, "hours.weekly.mon:", "09:60"),
    ("not a window", {"weekly": {"tue": ["9am-5pm"]}}, "hours.weekly.tue:", "9am"),
    ("no dash", {"weekly": {"tue": ["09:00"]}}, "hours.weekly.tue:", "09:00-18:00"),
    ("empty window", {"weekly": {"mon": ["10:00-10:00"]}}, "hours.weekly.mon:", "empty"),
    ("24:00 as start", {"weekly": {"mon": ["24:00-02:00"]}}, "hours.weekly.mon:", "24:00"),
    ("null day", {"weekly": {"sun": None}}, "hours.weekly.sun:", "[]"),
    ("number window", {"weekly": {"sun": [930]}}, "hours.weekly.sun:", "quoted"),
    ("bad day", {"weekly": {"mond": ["09:00-18:00"]}}, "hours.weekly:", "'mond'"),
    ("bad break day", {"breaks": [{"name": "lunch", "window": "12:00-13:00",
                                   "days": ["mon", "funday"]}]},
     "hours.breaks.0.days.1:", "'sun'"),
    ("no break days", {"breaks": [{"name": "lunch", "window": "12:00-13:00", "days": []}]},
     "hours.breaks.0.days:", "at least one day"),
    ("empty break", {"breaks": [{"name": "lunch", "window": "12:00-12:00"}]},
     "hours.breaks.0.window:", "empty"),
    ("break without window", {"breaks": [{"name": "lunch"}]},
     "hours.breaks.0.window:", "required"),
    ("bad text key", {"breaks": [{"name": "lunch", "window": "12:00-13:00",
                                  "text": "Busy Break"}]}, "hours.breaks.0.text:", "pattern"),
    ("twice the same break", {"breaks": [{"name": "lunch", "window": "12:00-13:00"},
                                         {"name": "lunch", "window": "18:00-19:00"}]},
     "hours.breaks:", "twice"),
    ("bad date", {"holidays": [{"date": "2026-13-01"}]}, "hours.holidays.0.date:", "ISO"),
    ("not iso date", {"holidays": [{"date": "01.10.2026"}]}, "hours.holidays.0.date:", "ISO"),
    ("date and time", {"holidays": [{"date": "2026-10-01T10:00:00"}]},
     "hours.holidays.0.date:", "2026-10-01"),
    ("special day twice", {"special_days": [{"date": "2026-11-11", "windows": []},
                                            {"date": "2026-11-11", "windows": []}]},
     "hours.special_days:", "twice"),
    ("special day without windows", {"special_days": [{"date": "2026-11-11"}]},
     "hours.special_days.0.windows:", "required"),
    ("negative queue limit", {"queue_limit": -1}, "hours.queue_limit:", "0"),
    ("unknown key", {"wekly": {}}, "hours.wekly:", "not permitted"),
]


@pytest.mark.parametrize(
    ("hours", "key", "words"),
    [case[1:] for case in BAD_HOURS],
    ids=[case[0] for case in BAD_HOURS],
)
def test_bad_hours_in_yaml(tmp_path: Path, hours: Any, key: str, words: str) -> None:
    path = tmp_path / "kefu.yaml"
    path.write_text(yaml.safe_dump({"hours": hours}), encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert key in message
    assert words in message


def test_hours_from_env_json_beats_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kefu.yaml"
    path.write_text("hours: {queue_limit: 3}\n", encoding="utf-8")
    monkeypatch.setenv("KEFU_HOURS", json.dumps({"weekly": {"sun": []}, "queue_limit": 5}))
    hours = load_settings(path).hours
    assert hours.queue_limit == 5
    assert hours.weekly.sun == ()
    assert hours.breaks == BusinessHours().breaks


def test_bad_json_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_HOURS", '{"weekly": {"mon": ["09:00-18:00"]}')
    with pytest.raises(SettingsError, match=r"KEFU_HOURS: not valid JSON"):
        load_settings()


def test_bad_value_in_env_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_HOURS", '{"weekly": {"mon": ["10:00-10:00"]}}')
    with pytest.raises(SettingsError, match=r"hours\.weekly\.mon: window '10:00-10:00'"):
        load_settings()


# --- the example file -----------------------------------------------------------------------------


def test_example_documents_every_key() -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert set(data) == set(Settings.model_fields)
    assert set(data["hours"]) == set(BusinessHours.model_fields)


def test_example_loads_with_default_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # library_dir in the example is relative to the repository root
    example = load_settings(EXAMPLE)
    defaults = load_settings()
    # library_dir is the one documented deviation: relative instead of the package path.
    assert example.library_dir.resolve() == DEFAULT_LIBRARY
    assert example.model_dump(exclude={"library_dir"}) == defaults.model_dump(
        exclude={"library_dir"}
    )
    assert example.hours == BusinessHours()
