"""Response-time figures, per incident and aggregated (p50/p90) by station, priority, type or hour.

The aggregation is a plain function of a connection and a time window so the briefings
can reuse it. Merged incidents (duplicates) are left out: they would count one event twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from qingzhi.errors import QingzhiError

# interval name -> (from column, to column)
INTERVALS = {
    "received_assigned": ("ts", "assigned_at"),
    "assigned_on_scene": ("assigned_at", "on_scene_at"),
    "received_on_scene": ("ts", "on_scene_at"),
    "on_scene_handled": ("on_scene_at", "handled_at"),
}
DIMENSIONS = {
    "all": "'all'",
    "station": "coalesce(station, '-')",
    "priority": "priority::text",
    "type": "type",
    "hour": "lpad(extract(hour FROM ts AT TIME ZONE $3)::int::text, 2, '0')",  # local hour of receipt
}


def incident_times(row: dict[str, Any]) -> dict[str, float | None]:
    """Seconds of each interval for one incident row (None where a step has not happened)."""
    out: dict[str, float | None] = {}
    for name, (a, b) in INTERVALS.items():
        start, end = row.get(a), row.get(b)
        out[name] = (end - start).total_seconds() if start is not None and end is not None and end >= start else None
    return out


def _aggregate_sql(by: str, stations_arg: int) -> str:
    cols = []
    for name, (a, b) in INTERVALS.items():
        secs = f"extract(epoch FROM ({b} - {a}))"
        ok = f"{a} IS NOT NULL AND {b} IS NOT NULL AND {b} >= {a}"
        cols += [
            f"count(*) FILTER (WHERE {ok}) AS {name}_n",
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {secs}) FILTER (WHERE {ok}) AS {name}_p50",
            f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {secs}) FILTER (WHERE {ok}) AS {name}_p90",
        ]
    return f"""SELECT {DIMENSIONS[by]} AS grp, count(*) AS incidents, {', '.join(cols)}
               FROM incidents
               WHERE ts >= $1 AND ts < $2 AND state <> 'merged'
                 AND (${stations_arg}::text[] IS NULL OR station = ANY(${stations_arg}::text[]))
               GROUP BY 1 ORDER BY 1"""


async def response_times(
    conn: asyncpg.Connection, *, since: dt.datetime, until: dt.datetime, by: str = "all", tz: str = "Asia/Shanghai",
    stations: list[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per group: `grp`, `incidents`, and for each interval `<name>_n`, `_p50`, `_p90` (seconds);
    of the incidents of `stations` only, where given (a station commander's scope)."""
    if by not in DIMENSIONS:
        raise QingzhiError(f"cannot group response times by {by!r}: one of {', '.join(DIMENSIONS)}")
    args: list[Any] = [since, until] + ([tz] if by == "hour" else [])
    sql = _aggregate_sql(by, len(args) + 1)
    return [dict(r) for r in await conn.fetch(sql, *args, stations)]
