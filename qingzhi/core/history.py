"""How much history a baseline stands on: the days or whole weeks before a window that the records cover.

A period before the first recorded incident is not a quiet period but no data. Counted as zero, it
made every count in a young system (and in the demo, with four weeks of history) look like a surge
against the weeks before it. The repeat-call surge flag and the suggested levels both count only the
covered part.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

DAY = dt.timedelta(days=1)


async def start(conn: asyncpg.Connection) -> dt.datetime | None:
    """When the records begin: the first incident's time (None: no incident yet)."""
    return await conn.fetchval("SELECT min(ts) FROM incidents")


def covered_days(start: dt.datetime | None, window_start: dt.datetime, baseline_days: int) -> float:
    """Days of a `baseline_days` baseline ending at `window_start` that history covers."""
    if start is None or baseline_days <= 0:
        return 0.0
    return max(0.0, min(float(baseline_days), (window_start - start) / DAY))


def covered_weeks(start: dt.datetime | None, window_start: dt.datetime, weeks: int) -> int:
    """Whole weeks of a `weeks`-week baseline ending at `window_start` that history covers."""
    return int(covered_days(start, window_start, weeks * 7) // 7)
