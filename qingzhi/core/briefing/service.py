"""Service figures of a period: response times, late incidents, the closed loop and satisfaction."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg

from qingzhi.core.alert_rules import OVERDUE_STATES
from qingzhi.core.dispatch_config import DispatchConfig
from qingzhi.core.response_times import response_times

RESPONSE_BY = ("priority", "station", "type")
OVERDUE_MAX = 200  # the list in a briefing; the count is exact
_SCOPE = "($3::text[] IS NULL OR station = ANY($3::text[]))"
# Imported records are another system's history with no service record of ours (stored closed, no
# closed_at): they count in the crime figures, not in the closed loop.
_SERVED = "i.state NOT IN ('merged', 'cancelled') AND i.source <> 'import'"


async def response(
    conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime, stations: list[str] | None,
) -> dict[str, list[dict[str, Any]]]:
    """p50/p90 of received→assigned and received→on scene, overall and by priority, station and type."""
    return {by: await response_times(conn, since=since, until=until, by=by, stations=stations)
            for by in ("all", *RESPONSE_BY)}


async def overdue(
    conn: asyncpg.Connection, cfg: DispatchConfig, since: dt.datetime, until: dt.datetime,
    stations: list[str] | None,
) -> dict[str, Any]:
    """Incidents of the period not assigned, or not on scene, within their priority's time (the
    dispatch settings): the step came late, or the incident still waits for it (then the time
    runs to the period's end)."""
    limits = json.dumps({str(p): {"a": o.assign_s, "s": o.on_scene_s} for p, o in cfg.overdue.items()})
    waiting = ", ".join(f"'{s}'" for s in OVERDUE_STATES)
    late = ("coalesce((CASE WHEN {col} IS NOT NULL THEN {col} - ts WHEN state IN (" + waiting + ") THEN least($2, now()) - ts END)"
            " > make_interval(secs => ($4::jsonb -> priority::text ->> '{key}')::int), false)")
    rows = await conn.fetch(
        f"""SELECT id, ts, type, priority, station, state, assigned_at, on_scene_at,
                   {late.format(col='assigned_at', key='a')} AS late_assign,
                   {late.format(col='on_scene_at', key='s')} AS late_on_scene
            FROM incidents
            WHERE ts >= $1 AND ts < $2 AND state NOT IN ('merged', 'cancelled') AND {_SCOPE}
              AND $4::jsonb ? priority::text
              AND ({late.format(col='assigned_at', key='a')} OR {late.format(col='on_scene_at', key='s')})
            ORDER BY priority, ts""",
        since, until, stations, limits,
    )
    return {"count": len(rows), "rows": [dict(r) for r in rows[:OVERDUE_MAX]]}


async def closed_loop(
    conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime, stations: list[str] | None,
) -> dict[str, Any]:
    """Incidents of the period (not merged, cancelled or imported), how many closed and how many reviewed,
    and the satisfaction ratings (1–5) of the reviews: count, mean and distribution."""
    row = await conn.fetchrow(
        f"""SELECT count(*) AS incidents, count(*) FILTER (WHERE closed_at IS NOT NULL) AS closed,
                   count(r.incident) AS reviewed, count(r.satisfaction) AS rated, avg(r.satisfaction) AS mean,
                   {', '.join(f'count(*) FILTER (WHERE r.satisfaction = {s}) AS s{s}' for s in range(1, 6))}
            FROM incidents i LEFT JOIN incident_reviews r ON r.incident = i.id AND r.step = 'review'
            WHERE i.ts >= $1 AND i.ts < $2 AND {_SERVED}
              AND {_SCOPE.replace('station', 'i.station')}""",
        since, until, stations,
    )
    return {"incidents": row["incidents"], "closed": row["closed"], "reviewed": row["reviewed"],
            "rated": row["rated"], "mean": None if row["mean"] is None else float(row["mean"]),
            "distribution": {s: row[f"s{s}"] for s in range(1, 6)}}


async def closed_loop_by_station(
    conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime, stations: list[str] | None,
) -> dict[str, dict[str, Any]]:
    """station → {incidents, closed, mean satisfaction} for the ranking."""
    rows = await conn.fetch(
        f"""SELECT i.station, count(*) AS incidents, count(*) FILTER (WHERE closed_at IS NOT NULL) AS closed,
                   avg(r.satisfaction) AS mean
            FROM incidents i LEFT JOIN incident_reviews r ON r.incident = i.id AND r.step = 'review'
            WHERE i.ts >= $1 AND i.ts < $2 AND {_SERVED} AND i.station IS NOT NULL
              AND {_SCOPE.replace('station', 'i.station')}
            GROUP BY 1""",
        since, until, stations,
    )
    return {r["station"]: {"incidents": r["incidents"], "closed": r["closed"],
                           "mean": None if r["mean"] is None else float(r["mean"])} for r in rows}
