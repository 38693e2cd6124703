"""A briefing's period: a day, a week, a month or a range of local days, and the periods it is
compared with (the one just before, of the same length, and the same days a year earlier)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypeVar
from zoneinfo import ZoneInfo

from qingzhi.core.times import check_year
from qingzhi.errors import QingzhiError

D = TypeVar("D", bound=dt.date)  # a date or a datetime

KINDS = ("day", "week", "month", "range")
MAX_DAYS = 366 * 2  # a range longer than two years is a mistake, not a briefing


@dataclass(frozen=True)
class Period:
    """Local days `first`..`last` (inclusive) in time zone `tz`; `kind` says how it was chosen."""

    kind: str
    first: dt.date
    last: dt.date
    tz: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise QingzhiError(f"period kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.last < self.first:
            raise QingzhiError(f"period ends ({self.last}) before it starts ({self.first})")
        if self.days > MAX_DAYS:
            raise QingzhiError(f"period of {self.days} days is longer than {MAX_DAYS}")

    @property
    def days(self) -> int:
        """How many local days the period covers."""
        return (self.last - self.first).days + 1

    @property
    def since(self) -> dt.datetime:
        """The period's first instant (local midnight of `first`)."""
        return dt.datetime.combine(self.first, dt.time(), ZoneInfo(self.tz))

    @property
    def until(self) -> dt.datetime:
        """The instant after the period (local midnight after `last`)."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), ZoneInfo(self.tz))

    @property
    def label(self) -> str:
        """`2026-11-21`, or `2026-11-16–2026-11-22` for more than a day."""
        return str(self.first) if self.days == 1 else f"{self.first}–{self.last}"

    def previous(self) -> Period:
        """The period of the same kind just before (the previous month for a month)."""
        if self.kind == "month":
            return month_of(self.first - dt.timedelta(days=1), self.tz)
        step = dt.timedelta(days=self.days)
        return Period(self.kind, self.first - step, self.last - step, self.tz)

    def last_year(self) -> Period:
        """The same days a year earlier (29 February becomes 28 February)."""
        return Period(self.kind, year_back(self.first), year_back(self.last), self.tz)


def year_back(day: D) -> D:
    """The same day (or moment) a year earlier: 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def month_of(day: dt.date, tz: str) -> Period:
    """The calendar month holding `day`."""
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return Period("month", first, following - dt.timedelta(days=1), tz)


def period_of(kind: str, day: dt.date, tz: str, *, last: dt.date | None = None) -> Period:
    """The period of `kind` for `day`: that day; the Monday–Sunday week holding it; its month;
    or, for a range, `day`..`last`."""
    if kind == "day":
        return Period("day", day, day, tz)
    if kind == "week":
        monday = day - dt.timedelta(days=day.weekday())
        return Period("week", monday, monday + dt.timedelta(days=6), tz)
    if kind == "month":
        return month_of(day, tz)
    if kind == "range":
        if last is None:
            raise QingzhiError("a range needs its last day")
        return Period("range", day, last, tz)
    raise QingzhiError(f"period kind must be one of {', '.join(KINDS)}, not {kind!r}")


def parse_day(text: str | None, what: str) -> dt.date:
    """An ISO date (`2026-11-21`) or a clear error naming the field."""
    if not text:
        raise QingzhiError(f"{what}: give a date like 2026-11-21")
    try:
        return check_year(dt.date.fromisoformat(text.strip()), what)
    except ValueError:
        raise QingzhiError(f"{what}: {text!r} is not a date like 2026-11-21") from None
