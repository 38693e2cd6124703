"""The years a date or time given by a person may fall in (a search's --from, a briefing's day, an
imported row's time): any real record fits, and a day or a UTC offset either side still fits what
Python and PostgreSQL hold (year 1 at +14:00, or 9999-12-31 at -14:00, do not: a traceback, or a
whole import batch refused by the database)."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from qingzhi.errors import QingzhiError

FIRST_YEAR, LAST_YEAR = 1900, 9998
D = TypeVar("D", bound=dt.date)  # a date or a datetime


def check_year(when: D, what: str) -> D:
    """`when`, or a QingzhiError naming `what` when its year is outside FIRST_YEAR..LAST_YEAR."""
    if not FIRST_YEAR <= when.year <= LAST_YEAR:
        raise QingzhiError(f"{what} is outside the years {FIRST_YEAR}–{LAST_YEAR}: {when.isoformat()}")
    return when
