"""The figures of repeat-call governance for the briefing (警源治理成效): the repeat-call share and its
change year on year, the follow-up tasks opened, closed and effective, the calls diverted to other
agencies. Read-only; `stations` narrows them (pass `access.scope(actor)`; None: all stations).
Periods are half-open [since, until).

A repeat call (重复报警) is a call from a number that had already called within the repeat-caller
window (`repeat_caller.days`, 30 by default) before it: the measure the practice reports.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from qingzhi.core.dispatch_config import load_config

SCOPED = "($3::text[] IS NULL OR station = ANY($3))"


async def repeat_share(conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime, *,
                       stations: list[str] | None = None, days: int | None = None) -> dict[str, Any]:
    """{"calls", "repeats", "share"} of the period: calls, those from a number that called in the `days`
    before (default: the repeat-caller window), and their share (None when there were no calls)."""
    days = days or (await load_config(conn)).repeat_caller.days
    row = await conn.fetchrow(
        f"""WITH c AS (
              SELECT ts, lag(ts) OVER (PARTITION BY caller_hash ORDER BY ts) AS prev, caller_hash
              FROM incidents
              WHERE ts >= $1::timestamptz - make_interval(days => $4) AND ts < $2 AND state <> 'merged' AND {SCOPED})
            SELECT count(*) AS calls,
                   count(*) FILTER (WHERE caller_hash IS NOT NULL AND prev >= ts - make_interval(days => $4)) AS repeats
            FROM c WHERE ts >= $1""",
        since, until, stations, days)
    calls, repeats = row["calls"], row["repeats"]
    return {"calls": calls, "repeats": repeats, "share": repeats / calls if calls else None}


def year_before(t: dt.datetime) -> dt.datetime:
    """The same moment a year earlier (29 February → 28 February)."""
    try:
        return t.replace(year=t.year - 1)
    except ValueError:
        return t.replace(year=t.year - 1, day=28)


async def repeat_share_yoy(conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime, *,
                           stations: list[str] | None = None) -> dict[str, Any]:
    """The period's repeat share beside the same period a year before: {"current", "year_before",
    "change_pp" (percentage points), "change_rel" (relative change; negative is a decline)}; the
    changes are None where a year has no calls."""
    now = await repeat_share(conn, since, until, stations=stations)
    then = await repeat_share(conn, year_before(since), year_before(until), stations=stations)
    both = now["share"] is not None and then["share"] is not None
    return {"current": now, "year_before": then,
            "change_pp": round(100 * (now["share"] - then["share"]), 2) if both else None,
            "change_rel": (now["share"] - then["share"]) / then["share"] if both and then["share"] else None}


async def task_figures(conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime, *,
                       stations: list[str] | None = None) -> dict[str, int]:
    """Follow-up tasks in the period: opened, closed, effective (closed because the calls stopped),
    reopened and escalated by the effect check, steps done late, and open now (of the stations)."""
    row = await conn.fetchrow(
        f"""SELECT
              (SELECT count(*) FROM followups WHERE created_at >= $1 AND created_at < $2 AND {SCOPED}) AS opened,
              (SELECT count(*) FROM followups WHERE closed_at >= $1 AND closed_at < $2 AND {SCOPED}) AS closed,
              (SELECT count(*) FROM followups WHERE closed_at >= $1 AND closed_at < $2 AND effective AND {SCOPED})
                  AS effective,
              (SELECT count(*) FILTER (WHERE s.text = 'reopened') FROM followup_steps s JOIN followups f ON f.id = s.task
               WHERE s.step = 'checked' AND s.ts >= $1 AND s.ts < $2 AND ($3::text[] IS NULL OR f.station = ANY($3)))
                  AS reopened,
              (SELECT count(*) FILTER (WHERE s.text = 'escalated') FROM followup_steps s JOIN followups f ON f.id = s.task
               WHERE s.step = 'checked' AND s.ts >= $1 AND s.ts < $2 AND ($3::text[] IS NULL OR f.station = ANY($3)))
                  AS escalated,
              (SELECT count(*) FROM followup_steps s JOIN followups f ON f.id = s.task
               WHERE s.late AND s.ts >= $1 AND s.ts < $2 AND ($3::text[] IS NULL OR f.station = ANY($3))) AS late_steps,
              (SELECT count(*) FROM followups WHERE state <> 'closed' AND {SCOPED}) AS open_now""",
        since, until, stations)
    return dict(row)


async def diverted_counts(conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime, *,
                          stations: list[str] | None = None) -> dict[str, Any]:
    """Calls diverted to other agencies in the period: {"total", "by_agency": {agency id: n}}."""
    rows = await conn.fetch(
        f"""SELECT diverted_to, count(*) AS n FROM incidents
            WHERE diverted_at >= $1 AND diverted_at < $2 AND {SCOPED} GROUP BY 1 ORDER BY 2 DESC, 1""",
        since, until, stations)
    return {"total": sum(r["n"] for r in rows), "by_agency": {r["diverted_to"]: r["n"] for r in rows}}
