"""Shop business hours: when people answer, and which "busy" text the bot sends otherwise.

Hours are written in shop-local wall-clock time (``Settings.timezone``) because that is how
shop owners think ("we open at 09:00"), and evaluated on absolute instants so that a shopper's
message is judged the same whatever zone its timestamp carries, also across a DST change.

Rules, in order:

* a holiday closes its date all day;
* otherwise a special day's windows replace that date's weekly windows;
* otherwise the weekly windows of that weekday apply.

A window belongs to the date it starts on, so Sunday's ``"20:00-02:00"`` still covers Monday
01:00 even if Monday is a holiday. A break only applies inside an open window. Windows are
unioned, so adjacent or overlapping windows form one opening.

Wall times that do not exist (spring forward) resolve to the same time with the pre-change
offset, i.e. one hour later in the new offset; ambiguous ones (fall back) to the first.

Use :func:`status_at` with ``settings.hours`` and ``settings.tz``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, cast
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
#: Day names in ``date.weekday()`` order.
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

ShopState = Literal["open", "off_hours", "break"]

#: Script-library system text sent outside opening hours.
OFF_HOURS_TEXT = "busy_off_hours"

_DAY_MINUTES = 24 * 60
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_KEY = r"^[a-z][a-z0-9_]*$"
#: How far status_at looks back/ahead for the previous close and the next opening. Growing
#: steps keep the usual case (an opening within a day or two) cheap.
_SEARCH_DAYS = (2, 16, 400)


def _problem(reason: str) -> PydanticCustomError:
    """A validation error whose message is exactly ``reason`` (no "Value error, " prefix)."""
    return PydanticCustomError("business_hours", "{reason}", {"reason": reason})


@dataclass(frozen=True)
class TimeWindow:
    """A span in minutes after the local midnight of the day it starts on.

    ``end`` is above 1440 when the window crosses midnight, so containment stays a simple
    ``start <= minute < end`` on a two-day clock.
    """

    start: int
    end: int

    def __str__(self) -> str:
        end = "24:00" if self.end == _DAY_MINUTES else _clock_text(self.end % _DAY_MINUTES)
        return f"{_clock_text(self.start)}-{end}"


def _clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_clock(text: str, window: str, *, end: bool) -> int:
    match = _CLOCK.fullmatch(text.strip())
    if not match:
        raise _problem(f"window {window!r}: {text.strip()!r} is not a time like 09:30")
    hour, minute = int(match.group(1)), int(match.group(2))
    if end and (hour, minute) == (24, 0):
        return _DAY_MINUTES
    if hour > 23 or minute > 59:
        allowed = "00:00-23:59 or 24:00" if end else "00:00-23:59"
        raise _problem(f"window {window!r}: {text.strip()!r} is not a time of day ({allowed})")
    return hour * 60 + minute


def parse_window(value: Any) -> TimeWindow:
    """Parse ``"HH:MM-HH:MM"``; an end before the start means the window crosses midnight."""
    if isinstance(value, TimeWindow):
        return value
    if not isinstance(value, str):
        raise _problem(f"expected a window like \"09:00-18:00\" (quoted), got {value!r}")
    parts = value.split("-")
    if len(parts) != 2:
        raise _problem(f"expected a window like \"09:00-18:00\", got {value!r}")
    start = _parse_clock(parts[0], value, end=False)
    end = _parse_clock(parts[1], value, end=True)
    if start == end:
        raise _problem(
            f"window {value!r} is empty: start and end are the same "
            "(use \"00:00-24:00\" for all day)"
        )
    if end <= start:
        end += _DAY_MINUTES
    return TimeWindow(start, end)


def _parse_windows(value: Any) -> tuple[TimeWindow, ...]:
    if value is None:
        raise _problem("no windows given; write [] for a day that is closed")
    if isinstance(value, str | TimeWindow):
        value = [value]
    if not isinstance(value, list | tuple):
        raise _problem(f"expected a list of windows like [\"09:00-18:00\"], got {value!r}")
    return tuple(parse_window(item) for item in value)


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise _problem(f"expected a date like 2026-10-01, got a date and time {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise _problem(f"expected an ISO date like 2026-10-01, got {value!r} ({exc})") from exc
    raise _problem(f"expected an ISO date like 2026-10-01, got {value!r}")


Window = Annotated[
    TimeWindow,
    PlainValidator(parse_window),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["09:00-18:00", "20:00-02:00"]}),
]
Windows = Annotated[
    tuple[TimeWindow, ...],
    PlainValidator(_parse_windows),
    PlainSerializer(lambda windows: [str(w) for w in windows], return_type=list[str]),
    WithJsonSchema({"type": "array", "items": {"type": "string"}}),
]
IsoDate = Annotated[
    date,
    PlainValidator(_parse_date),
    PlainSerializer(date.isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date"}),
]

_DEFAULT_DAY: tuple[TimeWindow, ...] = (TimeWindow(9 * 60, 23 * 60),)


class _Frozen(BaseModel):
    # Frozen so the shared default instances can never be changed by one caller for all.
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeeklyHours(_Frozen):
    """Opening windows per weekday; a day left out keeps the default 09:00-23:00."""

    mon: Windows = _DEFAULT_DAY
    tue: Windows = _DEFAULT_DAY
    wed: Windows = _DEFAULT_DAY
    thu: Windows = _DEFAULT_DAY
    fri: Windows = _DEFAULT_DAY
    sat: Windows = _DEFAULT_DAY
    sun: Windows = _DEFAULT_DAY

    @model_validator(mode="before")
    @classmethod
    def _known_days(cls, data: Any) -> Any:
        # A clearer message than "extra inputs are not permitted" for the usual typo.
        if isinstance(data, dict):
            for key in data:
                if key not in DAYS:
                    raise _problem(f"unknown day {key!r}; days are {', '.join(DAYS)}")
        return data

    def on(self, day: Day) -> tuple[TimeWindow, ...]:
        return cast(tuple[TimeWindow, ...], getattr(self, day))


class Break(_Frozen):
    """A recurring pause inside opening hours (lunch, shift change) with its own reply text."""

    name: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    window: Window
    days: tuple[Day, ...] = DAYS
    text: str = Field(default="busy_break", pattern=_KEY, max_length=60)

    @field_validator("days")
    @classmethod
    def _some_days(cls, days: tuple[Day, ...]) -> tuple[Day, ...]:
        if not days:
            raise _problem("list at least one day, or leave days out for every day")
        return days


class Holiday(_Frozen):
    """A date closed all day; the name is only for the operator's reference."""

    date: IsoDate
    name: str | None = Field(default=None, max_length=40)


class SpecialDay(_Frozen):
    """A date whose windows replace the weekly ones (sales events, shortened days)."""

    date: IsoDate
    windows: Windows
    name: str | None = Field(default=None, max_length=40)


_DEFAULT_BREAKS: tuple[Break, ...] = (
    Break(name="lunch", window=TimeWindow(12 * 60, 13 * 60 + 30)),
)


class BusinessHours(_Frozen):
    """When human agents answer; the bot keeps answering FAQs around the clock."""

    weekly: WeeklyHours = WeeklyHours()
    breaks: tuple[Break, ...] = _DEFAULT_BREAKS
    holidays: tuple[Holiday, ...] = ()
    special_days: tuple[SpecialDay, ...] = ()
    queue_limit: int = Field(default=20, ge=0, le=100_000)

    @model_validator(mode="before")
    @classmethod
    def _from_json(cls, data: Any) -> Any:
        # KEFU_HOURS arrives as a raw string (the field is NoDecode) so that bad JSON becomes
        # an ordinary validation error naming the key instead of a settings-source crash.
        if isinstance(data, str):
            try:
                return json.loads(data)
            except json.JSONDecodeError as exc:
                raise _problem(f"not valid JSON: {exc}") from exc
        return data

    @field_validator("breaks")
    @classmethod
    def _unique_breaks(cls, breaks: tuple[Break, ...]) -> tuple[Break, ...]:
        # Episode ids are built from break names, so two breaks must not share one.
        seen: set[str] = set()
        for item in breaks:
            if item.name in seen:
                raise _problem(f"break name {item.name!r} is used twice")
            seen.add(item.name)
        return breaks

    @field_validator("special_days")
    @classmethod
    def _unique_special_days(cls, days: tuple[SpecialDay, ...]) -> tuple[SpecialDay, ...]:
        seen: set[date] = set()
        for item in days:
            if item.date in seen:
                raise _problem(f"special day {item.date.isoformat()} is listed twice")
            seen.add(item.date)
        return days

    def windows_on(self, day: date) -> tuple[TimeWindow, ...]:
        """The windows that start on ``day`` after holidays and special days are applied."""
        if any(h.date == day for h in self.holidays):
            return ()
        for special in self.special_days:
            if special.date == day:
                return special.windows
        return self.weekly.on(DAYS[day.weekday()])

    def queue_busy(self, waiting: int) -> bool:
        """True when more tickets wait than ``queue_limit``, i.e. send ``busy_agents``."""
        return waiting > self.queue_limit

    def text_keys(self) -> frozenset[str]:
        """Every script-library key these hours may return, for checking against the library."""
        return frozenset({OFF_HOURS_TEXT, *(b.text for b in self.breaks)})


@dataclass(frozen=True)
class HoursStatus:
    """What the bot should say about staffing at one instant."""

    state: ShopState
    #: Script-library key to send: ``busy_off_hours``, the break's text, or None when open.
    text_key: str | None
    #: Stable id of this closed or break period, so one busy reply is sent per period.
    episode: str | None
    #: When people answer again (shop-local, aware); None when open or never again.
    opens_at: datetime | None


Span = tuple[datetime, datetime]


class _Schedule:
    """Turns the wall-clock rules into UTC spans for a range of local dates."""

    def __init__(self, hours: BusinessHours, tz: ZoneInfo) -> None:
        self.hours = hours
        self.tz = tz

    def instant(self, day: date, minutes: int) -> datetime:
        wall = datetime.combine(day, time()) + timedelta(minutes=minutes)
        return wall.replace(tzinfo=self.tz).astimezone(UTC)

    def span(self, day: date, window: TimeWindow) -> Span:
        return self.instant(day, window.start), self.instant(day, window.end)

    def open_spans(self, days: Iterable[date]) -> list[Span]:
        return [self.span(day, w) for day in days for w in self.hours.windows_on(day)]

    def break_spans(self, days: Iterable[date]) -> list[tuple[Span, Break, date]]:
        return [
            (self.span(day, b.window), b, day)
            for b in self.hours.breaks
            for day in days
            if DAYS[day.weekday()] in b.days
        ]


def _days(first: date, last: date) -> Iterator[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


def _inside(moment: datetime, spans: Iterable[Span]) -> bool:
    return any(start <= moment < end for start, end in spans)


def _previous_close(schedule: _Schedule, now: datetime, today: date) -> datetime | None:
    """The end of the last opening before ``now`` (where the current closed period began)."""
    for back in _SEARCH_DAYS:
        first = today - timedelta(days=back)
        # Windows starting the day before ``first`` may overlap ends on ``first``.
        context = schedule.open_spans(_days(first - timedelta(days=1), today))
        ends = [
            end
            for _, end in schedule.open_spans(_days(first, today))
            if end <= now and not _inside(end, context)
        ]
        if ends:
            return max(ends)
    return None


def _next_opening(schedule: _Schedule, now: datetime, today: date) -> datetime | None:
    """The first instant at or after ``now`` that is inside a window and outside every break.

    Such an instant is ``now`` itself, a window start or a break end, so only those are tried.
    """
    for ahead in _SEARCH_DAYS:
        days = list(_days(today - timedelta(days=1), today + timedelta(days=ahead)))
        # Beyond this limit a break of the next (uncomputed) day could still apply.
        limit = schedule.instant(days[-1] + timedelta(days=1), 0)
        opens = schedule.open_spans(days)
        pauses = [span for span, _, _ in schedule.break_spans(days)]
        candidates = sorted(
            {now, *(start for start, _ in opens), *(end for _, end in pauses)}
        )
        for moment in candidates:
            if moment < now or moment >= limit:
                continue
            if _inside(moment, opens) and not _inside(moment, pauses):
                return moment
    return None


def _label(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def status_at(hours: BusinessHours, when: datetime, tz: ZoneInfo) -> HoursStatus:
    """Whether people answer at ``when``; ``tz`` is the shop's zone (``settings.tz``).

    ``when`` must be aware (any zone): a naive time would silently mean server-local time.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("status_at needs a timezone-aware datetime")
    schedule = _Schedule(hours, tz)
    now = when.astimezone(UTC)
    today = when.astimezone(tz).date()
    recent = list(_days(today - timedelta(days=1), today))

    if not _inside(now, schedule.open_spans(recent)):
        opens_at = _next_opening(schedule, now, today)
        since = _previous_close(schedule, now, today)
        if since is not None:
            episode = f"off:{_label(since, tz)}"
        elif opens_at is not None:
            episode = f"off:until:{_label(opens_at, tz)}"
        else:
            episode = "off:closed"
        return HoursStatus(
            state="off_hours",
            text_key=OFF_HOURS_TEXT,
            episode=episode,
            opens_at=opens_at.astimezone(tz) if opens_at else None,
        )

    for (start, end), rule, day in schedule.break_spans(recent):
        if start <= now < end:
            opens_at = _next_opening(schedule, now, today)
            return HoursStatus(
                state="break",
                text_key=rule.text,
                episode=f"break:{rule.name}:{day.isoformat()}",
                opens_at=opens_at.astimezone(tz) if opens_at else None,
            )
    return HoursStatus(state="open", text_key=None, episode=None, opens_at=None)
