"""The years a date or time given by a person may fall in (a search's --from, a briefing's day, an
imported row's time): any real record fits, and a day or a UTC offset either side still fits what
Python and PostgreSQL hold (year 1 at +14:00, or 9999-12-31 at -14:00, do not: a traceback, or a
whole import batch refused by the database)."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar
from zoneinfo import ZoneInfo

from qingzhi.errors import QingzhiError

FIRST_YEAR, LAST_YEAR = 1900, 9998
D = TypeVar("D", bound=dt.date)  # a date or a datetime


def check_year(when: D, what: str) -> D:
    """`when`, or a QingzhiError naming `what` when its year is outside FIRST_YEAR..LAST_YEAR."""
    if not FIRST_YEAR <= when.year <= LAST_YEAR:
        raise QingzhiError(f"{what} is outside the years {FIRST_YEAR}–{LAST_YEAR}: {when.isoformat()}")
    return when


def parse_moment(text: str | None, what: str, *, zone: str | None) -> dt.datetime | None:
    """A time a person typed (`what` names it in errors), as an aware datetime, or None for no text.

    An ISO date or date-time; one without a UTC offset is in `zone` (the local one, or UTC); with
    `zone` None an offset is required (whose clock would it be?)."""
    if not text:
        return None
    example = "2026-12-01T18:00+08:00"
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise QingzhiError(f"bad {what} {text[:40]!r}: not an ISO date or time (e.g. {example})") from None
    if when.tzinfo is None:
        if zone is None:
            raise QingzhiError(f"bad {what} {text[:40]!r}: give its UTC offset (e.g. {example})")
        when = when.replace(tzinfo=ZoneInfo(zone))
    return check_year(when, what)
