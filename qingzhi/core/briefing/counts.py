"""Counts of a period: the headlines by type mapping, checks (盘查) and repeat calls.

Merged incidents are left out everywhere (a duplicate call would count one event twice);
cancelled ones still count as calls received. `stations=None` means every station.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import asyncpg

from qingzhi.core.briefing.config import HEADLINES, BriefingConfig
from qingzhi.core.dispatch_config import RepeatCaller

NO_STATION = "-"
_SCOPE = "($3::text[] IS NULL OR station = ANY($3::text[]))"


async def headline_counts(
    conn: asyncpg.Connection, cfg: BriefingConfig, since: dt.datetime, until: dt.datetime, stations: list[str] | None,
) -> dict[str, dict[str, int]]:
    """station (or `-`) → headline → count, plus the `*` station holding the totals."""
    rows = await conn.fetch(
        f"""SELECT coalesce(station, '{NO_STATION}') AS station, type, count(*) AS n FROM incidents
            WHERE ts >= $1 AND ts < $2 AND state <> 'merged' AND {_SCOPE} GROUP BY 1, 2""",
        since, until, stations,
    )
    out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(HEADLINES, 0))
    out["*"] = dict.fromkeys(HEADLINES, 0)
    for r in rows:
        for h in cfg.headlines_of(r["type"]):
            out[r["station"]][h] += r["n"]
            out["*"][h] += r["n"]
    return dict(out)


async def check_counts(
    conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime, stations: list[str] | None,
) -> dict[str, dict[str, int]]:
    """station → {checks, hits}, plus `*` for the totals (盘查抓获率 is hits / checks)."""
    rows = await conn.fetch(
        f"""SELECT station, count(*) AS checks, count(*) FILTER (WHERE hit) AS hits FROM checks
            WHERE ts >= $1 AND ts < $2 AND {_SCOPE} GROUP BY 1""",
        since, until, stations,
    )
    out = {r["station"]: {"checks": r["checks"], "hits": r["hits"]} for r in rows}
    out["*"] = {"checks": sum(r["checks"] for r in rows), "hits": sum(r["hits"] for r in rows)}
    return out


async def repeat_calls(
    conn: asyncpg.Connection, rule: RepeatCaller, since: dt.datetime, until: dt.datetime, stations: list[str] | None,
) -> dict[str, int]:
    """`calls` in the period and `repeats` among them: calls whose caller had called at least once in
    the `rule.days` before (the caller rule of the repeat flags, qingzhi.core.dispatch_config)."""
    row = await conn.fetchrow(
        f"""SELECT count(*) AS calls, count(*) FILTER (WHERE EXISTS (
                   SELECT 1 FROM incidents p WHERE p.caller_hash = i.caller_hash AND p.state <> 'merged'
                     AND p.ts < i.ts AND p.ts >= i.ts - make_interval(days => $4))) AS repeats
            FROM incidents i
            WHERE ts >= $1 AND ts < $2 AND state <> 'merged' AND {_SCOPE.replace('station', 'i.station')}""",
        since, until, stations, rule.days,
    )
    return {"calls": row["calls"], "repeats": row["repeats"]}


async def busiest(
    conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime, stations: list[str] | None, tz: str,
) -> dict[str, Any]:
    """The period's three highs (三高): the most frequent type, station and local hour, with counts."""
    out: dict[str, Any] = {}
    for name, expr, extra in (("type", "type", []), ("station", f"coalesce(station, '{NO_STATION}')", []),
                              ("hour", "extract(hour FROM ts AT TIME ZONE $4)::int", [tz])):
        row = await conn.fetchrow(
            f"""SELECT {expr} AS key, count(*) AS n FROM incidents
                WHERE ts >= $1 AND ts < $2 AND state <> 'merged' AND {_SCOPE}
                GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1""",
            since, until, stations, *extra,
        )
        out[name] = None if row is None else {"key": row["key"], "n": row["n"]}
    return out


async def growing_places(
    conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime, before: dt.datetime,
    stations: list[str] | None, *, min_count: int = 3, top: int = 5,
) -> list[dict[str, Any]]:
    """Places (most common address, else rounded point) with at least `min_count` calls in the
    period and at least twice as many as in the equally long stretch before (`before`..`since`)."""
    rows = await conn.fetch(
        f"""SELECT coalesce(nullif(address, ''), round(lat::numeric, 3) || ',' || round(lon::numeric, 3)) AS place,
                   count(*) FILTER (WHERE ts >= $1) AS n, count(*) FILTER (WHERE ts < $1) AS before
            FROM incidents WHERE ts >= $4 AND ts < $2 AND state <> 'merged' AND {_SCOPE}
            GROUP BY 1 HAVING count(*) FILTER (WHERE ts >= $1) >= $5
               AND count(*) FILTER (WHERE ts >= $1) >= 2 * count(*) FILTER (WHERE ts < $1)
            ORDER BY 2 DESC, 1 LIMIT $6""",
        since, until, stations, before, min_count, top,
    )
    return [{"place": r["place"], "n": r["n"], "before": r["before"], "new": r["before"] == 0} for r in rows]


async def incident_points(
    conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime, stations: list[str] | None, *, top: int = 5000,
) -> list[dict[str, Any]]:
    """Where the period's calls were (lat, lon, category), for the briefing's map; at most `top`."""
    rows = await conn.fetch(
        f"""SELECT lat, lon, category FROM incidents WHERE ts >= $1 AND ts < $2 AND state <> 'merged' AND {_SCOPE}
            ORDER BY ts LIMIT $4""",
        since, until, stations, top,
    )
    return [dict(r) for r in rows]
