"""A direct recount of every analysis pre-aggregate from raw incidents, written independently of
qingzhi.aggregate (row by row in Python: zoneinfo, h3 at each resolution, aoristic weights), and
the check that the aggregate tables hold exactly that."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

import asyncpg
import h3.api.basic_int as h3
import pytest

from qingzhi.analytics.aoristic import aoristic_weights


def _month(day: date) -> date:
    return day.replace(day=1)


async def recount(conn: asyncpg.Connection, timezone: str) -> dict[str, dict]:
    """Every count table as {key tuple: amount}, computed from the incidents table directly."""
    zone = ZoneInfo(timezone)
    rows = await conn.fetch("SELECT * FROM incidents WHERE state <> 'merged'")
    out: dict[str, dict] = {name: defaultdict(float) for name in (
        "an_cell_day", "an_cell_month", "an_cell_month_all", "an_type_day", "an_how_day", "an_how_month",
        "an_how_month_all")}
    for r in rows:
        local = r["ts"].astimezone(zone)
        day, station, key = local.date(), r["station"] or "", (r["type"], r["priority"])
        c8, c9, c10 = (h3.latlng_to_cell(r["lat"], r["lon"], res) for res in (8, 9, 10))
        out["an_cell_day"][(day, c10, c9, c8, station, *key)] += 1
        out["an_cell_month"][(_month(day), c9, c8, station, *key)] += 1
        out["an_cell_month_all"][(_month(day), c9, c8)] += 1
        out["an_type_day"][(day, station, *key)] += 1
        start = r["occurred_from"] and r["occurred_from"].astimezone(zone).replace(tzinfo=None)
        end = (r["occurred_to"] or r["ts"]).astimezone(zone).replace(tzinfo=None)
        if start and end > start:
            weights = aoristic_weights(start, end)
        else:
            weights = [0.0] * 168
            weights[local.weekday() * 24 + local.hour] = 1.0
        for how, w in enumerate(weights):
            if w:
                out["an_how_day"][(day, how, station, *key)] += w
                out["an_how_month"][(_month(day), how, station, *key)] += w
                out["an_how_month_all"][(_month(day), how)] += w
    return out


TABLE_SQL = {
    "an_cell_day": "SELECT day, cell10, cell9, cell8, station, type, priority, n FROM an_cell_day",
    "an_cell_month": "SELECT month, cell9, cell8, station, type, priority, n FROM an_cell_month",
    "an_cell_month_all": "SELECT month, cell9, cell8, n FROM an_cell_month_all",
    "an_type_day": "SELECT day, station, type, priority, n FROM an_type_day",
    "an_how_day": "SELECT day, how, station, type, priority, w FROM an_how_day",
    "an_how_month": "SELECT month, how, station, type, priority, w FROM an_how_month",
    "an_how_month_all": "SELECT month, how, w FROM an_how_month_all",
}


async def assert_aggregates_equal_recount(conn: asyncpg.Connection, timezone: str) -> int:
    """Every aggregate table equals the direct recount (weights to 1e-6); return the incidents counted."""
    expected = await recount(conn, timezone)
    for table, sql in TABLE_SQL.items():
        got = {tuple(r[:-1]): r[-1] for r in await conn.fetch(sql)}
        want = {k: v for k, v in expected[table].items() if abs(v) > 1e-9}
        assert got.keys() == want.keys(), f"{table}: keys differ ({len(got)} vs {len(want)})"
        assert got == pytest.approx(want, abs=1e-6), table
    counted = await conn.fetchval("SELECT count(*) FROM incidents WHERE state <> 'merged'")
    assert await conn.fetchval("SELECT count(*) FROM an_incident") == counted
    assert not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM an_dirty)")
    return counted
