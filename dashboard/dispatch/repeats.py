"""Repeat incidents (警源治理): one caller many times, one place many times, one type surging,
and the follow-up tasks made from them (the actions on tasks are qingzhi.core.followups).

Flags are computed from the incidents on demand (thresholds in DispatchConfig); a flag's key
is stable (`caller:<hash>`, `place:<h3 cell>`, `surge:<station>:<type>`) so a task made from it
can be found again.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import asyncpg
import h3
from scipy.stats import poisson

from qingzhi.core.dispatch_config import DispatchConfig

WEEK = dt.timedelta(days=7)


async def _caller_flags(conn: asyncpg.Connection, cfg: DispatchConfig, now: dt.datetime) -> list[dict[str, Any]]:
    rule = cfg.repeat_caller
    rows = await conn.fetch(
        """SELECT caller_hash, array_agg(id ORDER BY ts DESC) AS ids, min(station) AS station, max(ts) AS last
           FROM incidents WHERE caller_hash IS NOT NULL AND ts > $1 AND ts <= $2
           GROUP BY caller_hash HAVING count(*) >= $3""",
        now - dt.timedelta(days=rule.days), now, rule.calls,
    )
    return [
        {"kind": "caller", "key": f"caller:{r['caller_hash'][:16]}", "label": r["caller_hash"][:8], "station": r["station"],
         "incidents": list(r["ids"]), "count": len(r["ids"]), "days": rule.days, "last": r["last"]}
        for r in rows
    ]


async def _place_flags(conn: asyncpg.Connection, cfg: DispatchConfig, now: dt.datetime) -> list[dict[str, Any]]:
    rule = cfg.repeat_place
    rows = await conn.fetch(
        """SELECT id, lat, lon, station, ts, address FROM incidents
           WHERE ts > $1 AND ts <= $2 AND state <> 'merged' ORDER BY ts DESC""",
        now - dt.timedelta(days=rule.days), now,
    )
    cells: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for r in rows:
        cells[h3.latlng_to_cell(r["lat"], r["lon"], rule.h3_res)].append(r)
    flags = []
    for cell, members in cells.items():
        if len(members) >= rule.incidents:
            lat, lon = h3.cell_to_latlng(cell)
            addresses = Counter(m["address"] for m in members if m["address"])
            label = addresses.most_common(1)[0][0] if addresses else cell  # where people say it is
            flags.append(
                {"kind": "place", "key": f"place:{cell}", "label": label, "station": members[0]["station"],
                 "incidents": [m["id"] for m in members], "count": len(members), "days": rule.days,
                 "last": members[0]["ts"], "lat": lat, "lon": lon}
            )
    return flags


async def _surge_flags(conn: asyncpg.Connection, cfg: DispatchConfig, now: dt.datetime) -> list[dict[str, Any]]:
    rule = cfg.surge
    rows = await conn.fetch(
        """SELECT coalesce(station, '-') AS area, type,
                  floor(extract(epoch FROM ($1 - ts)) / 604800)::int AS week, count(*) AS n,
                  array_agg(id ORDER BY ts DESC) AS ids, max(ts) AS last
           FROM incidents WHERE ts > $2 AND ts <= $1 AND state <> 'merged'
           GROUP BY 1, 2, 3""",
        now, now - WEEK * (rule.baseline_weeks + 1),
    )
    current: dict[tuple[str, str], asyncpg.Record] = {}
    before: dict[tuple[str, str], int] = defaultdict(int)
    area_history: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["week"] == 0:
            current[(r["area"], r["type"])] = r
        else:
            before[(r["area"], r["type"])] += r["n"]
            area_history[r["area"]] += r["n"]
    flags = []
    for (area, typ), r in current.items():
        if not area_history[area]:
            continue  # no earlier record of this area at all (new system, new station): nothing to compare with
        baseline = before[(area, typ)] / rule.baseline_weeks
        mu = max(baseline, 0.5)  # a type never seen here still needs min_count to be a surge
        p = float(poisson.sf(r["n"] - 1, mu))
        if r["n"] >= rule.min_count and r["n"] >= rule.ratio * baseline and p < rule.alpha:
            flags.append(
                {"kind": "surge", "key": f"surge:{area}:{typ}", "label": typ, "station": None if area == "-" else area,
                 "incidents": list(r["ids"]), "count": r["n"], "baseline": round(baseline, 2), "p": p,
                 "days": 7, "last": r["last"]}
            )
    return flags


async def repeat_flags(conn: asyncpg.Connection, cfg: DispatchConfig, *, now: dt.datetime) -> list[dict[str, Any]]:
    """Every current flag, each with the incidents behind it and its live follow-up task (if any)."""
    flags = await _caller_flags(conn, cfg, now) + await _place_flags(conn, cfg, now) + await _surge_flags(conn, cfg, now)
    tasks = {
        r["flag_key"]: dict(r)
        for r in await conn.fetch("SELECT id, flag_key, state, officer FROM followups WHERE state <> 'reviewed'")
    }
    for f in flags:
        f["task"] = tasks.get(f["key"])
    return sorted(flags, key=lambda f: (-f["count"], f["key"]))


async def followups(conn: asyncpg.Connection, *, include_reviewed: bool = False, limit: int = 200) -> list[dict[str, Any]]:
    """Follow-up tasks, unfinished first, newest first."""
    rows = await conn.fetch(
        """SELECT * FROM followups WHERE $1 OR state <> 'reviewed'
           ORDER BY state = 'reviewed', created_at DESC LIMIT $2""",
        include_reviewed, limit,
    )
    return [dict(r) for r in rows]
