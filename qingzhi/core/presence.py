"""Presence and duty fulfilment (见警率, 勤务落实率), measured from position history.

Definitions (also in the README):
  A unit is *present* in a zone during a minute when its last fix at or before that minute (at most
  STALE_S old) lies inside the zone, its last status then was available or patrolling, and its kind
  is one the response plan counts.
  *Minimum met* (per zone and minute): present units ≥ the zone's minimum at its level in force.
  *勤务落实率* (duty fulfilment): Σ min(present, minimum) / Σ minimum over zone-minutes: the share of
  the required unit-minutes actually delivered (a surplus in one zone never makes up for another).
  *街面见警率* (street presence): the share of zone-hours (each patrol zone, each clock hour) in which
  a unit was present for at least one minute.

The duty loop folds each complete clock hour into presence_day (`fold_hours`) with the levels in
force at the time it runs, so the per-day figures keep the minimums that applied then. Each hour's
figures are kept for LATE_KEEP in presence_hour: an hour a late fix was queued for
(qingzhi/core/late_fixes.py) is measured again with the minimums it had, and presence_day gets the
difference. `daily_figures` reads them for briefings, `live_coverage` measures the last hour and
shift on the fly.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from qingzhi.core.late_fixes import FOLD_GRACE
from qingzhi.core.response_plan import ResponsePlan
from qingzhi.core.vocab import SENDABLE

STALE_S = 300             # a fix older than this says nothing about where the unit is now
MAX_FOLD_HOURS = 6        # one chore run folds at most this many hours, and as many late ones (a long outage catches up over runs)
LATE_KEEP = dt.timedelta(days=8)  # hours kept for late fixes (the ingest refuses fixes older than a week)
FIGURES = ("minutes", "met_minutes", "required_unit_min", "delivered_unit_min", "zone_hours", "zone_hours_seen")
GRID = 2000               # history near places: squares of 1/GRID degree (~55 m) tell which units came near


@dataclass(frozen=True)
class ZoneSpec:
    """A zone as presence needs it: id, station, polygon (GeoJSON) and its minimum."""

    id: str
    station: str
    boundary: dict[str, Any]
    need: int


def present_counts(fixes: pd.DataFrame, statuses: pd.DataFrame, zones: list[ZoneSpec],
                   minutes: pd.DatetimeIndex) -> np.ndarray:
    """(zones × minutes) counts of present units. `fixes`: unit, ts, lat, lon; `statuses`: unit, ts,
    status (including each unit's last one before the first minute); times are UTC-aware. Every
    (unit, minute) is placed at once: one as-of join for positions, one for statuses, one point-in-polygon
    test per zone."""
    counts = np.zeros((len(zones), len(minutes)), int)
    if fixes.empty or len(minutes) == 0:
        return counts
    units = fixes["unit"].unique()
    grid = pd.DataFrame({"minute": np.tile(minutes.to_numpy(), len(units)),
                         "unit": np.repeat(units, len(minutes)),
                         "col": np.tile(np.arange(len(minutes)), len(units))}).sort_values("minute", kind="stable")
    at = pd.merge_asof(grid, fixes[["unit", "ts", "lat", "lon"]].sort_values("ts"), left_on="minute", right_on="ts",
                       by="unit", direction="backward", tolerance=pd.Timedelta(seconds=STALE_S))
    st = statuses[["unit", "ts", "status"]].rename(columns={"ts": "sts"}).sort_values("sts")
    at = pd.merge_asof(at, st, left_on="minute", right_on="sts", by="unit", direction="backward")
    ok = at["lat"].notna().to_numpy() & at["status"].isin(SENDABLE).to_numpy()
    lon, lat = np.nan_to_num(at["lon"].to_numpy(float)), np.nan_to_num(at["lat"].to_numpy(float))
    col = at["col"].to_numpy()
    for zi, z in enumerate(zones):
        inside = ok & shapely.contains_xy(shape(z.boundary), lon, lat)
        counts[zi] = np.bincount(col[inside], minlength=len(minutes))
        ok &= ~inside          # overlapping zones: a unit counts once, for the first
    return counts


def figures(counts: np.ndarray, need: np.ndarray, minutes: pd.DatetimeIndex) -> list[dict[str, Any]]:
    """Per zone: minutes, met_minutes, required and delivered unit-minutes, zone-hours and hours seen."""
    hours = minutes.floor("h")
    out = []
    for zi in range(len(need)):
        n, m = counts[zi], int(need[zi])
        seen = pd.Series(n > 0).groupby(hours).any() if len(minutes) else pd.Series(dtype=bool)
        out.append({"minutes": len(minutes), "met_minutes": int((n >= m).sum()),
                    "required_unit_min": float(m * len(minutes)), "delivered_unit_min": float(np.minimum(n, m).sum()),
                    "zone_hours": int(len(seen)), "zone_hours_seen": int(seen.sum())})
    return out


async def history(conn: asyncpg.Connection, start: dt.datetime, end: dt.datetime,
                  kinds: tuple[str, ...], stations: list[str] | None,
                  boxes: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fixes of counted units in [start − STALE_S, end) and statuses in [start, end) plus each unit's last
    status before start (within a day). With `boxes` (rows of lat0, lat1, lon0, lon1), only the fixes of
    units that had a fix inside one of them (to 1/GRID degree) in the window: a unit never near is present
    in none of the places inside the boxes, so their counts stay exact while far less history is read."""
    units = None
    if boxes is not None:
        units = [r["unit"] for r in await conn.fetch(
            """SELECT DISTINCT unit FROM positions WHERE ts >= $1 AND ts < $2
                 AND floor(lat * $4)::bigint * 10000000 + floor(lon * $4)::bigint = ANY($3::bigint[])""",
            start - dt.timedelta(seconds=STALE_S), end, grid_keys(boxes), float(GRID))]
    # only the last fix at or before each whole minute matters: one row per unit and minute, not every fix
    fixes = await conn.fetch(
        """SELECT DISTINCT ON (p.unit, m) p.unit, p.ts, p.lat, p.lon
           FROM positions p JOIN units u ON u.id = p.unit,
                LATERAL (SELECT date_trunc('minute', p.ts)
                                + CASE WHEN p.ts > date_trunc('minute', p.ts) THEN interval '1 minute'
                                       ELSE interval '0' END AS m) g
           WHERE p.ts >= $1 AND p.ts < $2 AND u.kind = ANY($3::text[])
             AND ($4::text[] IS NULL OR u.station = ANY($4::text[]))
             AND ($5::text[] IS NULL OR p.unit = ANY($5::text[]))
           ORDER BY p.unit, m, p.ts DESC""",
        start - dt.timedelta(seconds=STALE_S), end, list(kinds), stations, units)
    statuses = await conn.fetch(
        """SELECT unit, ts, status FROM statuses WHERE ts >= $1 AND ts < $2
           UNION ALL
           SELECT DISTINCT ON (unit) unit, ts, status FROM statuses
           WHERE ts < $1 AND ts >= $1 - interval '1 day' ORDER BY unit, ts DESC""",
        start, end)
    f = pd.DataFrame([dict(r) for r in fixes], columns=["unit", "ts", "lat", "lon"])
    s = pd.DataFrame([dict(r) for r in statuses], columns=["unit", "ts", "status"])
    for df in (f, s):
        df["ts"] = pd.to_datetime(df["ts"], utc=True)
    return f, s


def grid_keys(boxes: np.ndarray) -> list[int]:
    """The keys of the 1/GRID-degree squares that cover the boxes (rows of lat0, lat1, lon0, lon1), computed
    as the history query computes a fix's (a hashed `= ANY` in PostgreSQL)."""
    keys: set[int] = set()
    for lat0, lat1, lon0, lon1 in np.floor(np.asarray(boxes, float).reshape(-1, 4) * GRID).astype(np.int64):
        keys.update(int(a) * 10_000_000 + int(o) for a in range(lat0, lat1 + 1) for o in range(lon0, lon1 + 1))
    return sorted(keys)


async def zone_specs(conn: asyncpg.Connection, response: ResponsePlan, stations: list[str] | None) -> list[ZoneSpec]:
    """The zones with their minimum at the level in force now."""
    rows = await conn.fetch(
        "SELECT id, station, boundary, alert_level, min_units, zone_class FROM zones"
        " WHERE $1::text[] IS NULL OR station = ANY($1::text[]) ORDER BY id", stations)
    return [ZoneSpec(r["id"], r["station"], r["boundary"] if isinstance(r["boundary"], dict) else json.loads(r["boundary"]),
                     response.minimum(r["alert_level"], r["zone_class"], r["min_units"])) for r in rows]


async def measure(conn: asyncpg.Connection, response: ResponsePlan, start: dt.datetime, end: dt.datetime,
                  stations: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """{zone: figures} for the minutes in [start, end), with the minimums in force now."""
    return await measure_zones(conn, response, await zone_specs(conn, response, stations), start, end, stations)


async def measure_zones(conn: asyncpg.Connection, response: ResponsePlan, zones: list[ZoneSpec], start: dt.datetime,
                        end: dt.datetime, stations: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """{zone: figures} of these zones, with their minimums, for the minutes in [start, end)."""
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)     # callers may pass local times
    minutes = pd.date_range(pd.Timestamp(start).ceil("min"), pd.Timestamp(end), freq="min", inclusive="left")
    fixes, statuses = await history(conn, start, end, response.counted_kinds, stations)
    counts = present_counts(fixes, statuses, zones, minutes)
    return {z.id: {"station": z.station, "need": z.need, **f}
            for z, f in zip(zones, figures(counts, np.array([z.need for z in zones], int), minutes))}


async def fold_hours(conn: asyncpg.Connection, response: ResponsePlan, timezone: str,
                     now: dt.datetime | None = None) -> int:
    """Duty loop: fold every complete clock hour since the cursor into presence_day, and again the hours
    late fixes were queued for; the hours folded."""
    now = now or dt.datetime.now(dt.UTC)
    last_complete = (now - FOLD_GRACE).replace(minute=0, second=0, microsecond=0)
    upto = await conn.fetchval("SELECT upto FROM presence_cursor")
    start = upto or last_complete - dt.timedelta(hours=1)
    end = min(last_complete, start + dt.timedelta(hours=MAX_FOLD_HOURS))
    tz = ZoneInfo(timezone)
    folded = 0
    hour = start
    async with conn.transaction():
        while hour < end:
            await _store_hour(conn, tz, hour, await measure(conn, response, hour, hour + dt.timedelta(hours=1)), {})
            hour += dt.timedelta(hours=1)
            folded += 1
        if end > start or upto is None:
            await conn.execute("""INSERT INTO presence_cursor (id, upto) VALUES (true, $1)
                                  ON CONFLICT (id) DO UPDATE SET upto = EXCLUDED.upto""", max(end, start))
        late = await conn.fetch("""DELETE FROM presence_late WHERE hour IN
                                       (SELECT hour FROM presence_late WHERE hour < $1 ORDER BY hour LIMIT $2)
                                   RETURNING hour""", max(end, start), MAX_FOLD_HOURS)
        for (hour,) in late:
            folded += await _measure_again(conn, response, tz, hour)
        await conn.execute("DELETE FROM presence_hour WHERE hour < $1", now - LATE_KEEP)
    return folded


async def _measure_again(conn: asyncpg.Connection, response: ResponsePlan, tz: ZoneInfo, hour: dt.datetime) -> int:
    """Measure a folded hour again with the minimums it had (1), or nothing when it is no longer kept (0)."""
    before = {r["zone"]: dict(r) for r in await conn.fetch("SELECT * FROM presence_hour WHERE hour = $1", hour)}
    zones = [ZoneSpec(z.id, z.station, z.boundary, before[z.id]["need"])
             for z in await zone_specs(conn, response, None) if z.id in before]   # a zone deleted since keeps its figures
    if not zones:
        return 0
    await _store_hour(conn, tz, hour, await measure_zones(conn, response, zones, hour, hour + dt.timedelta(hours=1)),
                      before)
    return 1


async def _store_hour(conn: asyncpg.Connection, tz: ZoneInfo, hour: dt.datetime, per_zone: dict[str, dict[str, Any]],
                      before: dict[str, dict[str, Any]]) -> None:
    """Keep the hour's figures and add to its local day what they add to what it had (`before`)."""
    day = hour.astimezone(tz).date()
    await conn.executemany(
        f"""INSERT INTO presence_hour (hour, zone, station, need, {', '.join(FIGURES)})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (hour, zone) DO UPDATE SET station = EXCLUDED.station,
                {', '.join(f'{k} = EXCLUDED.{k}' for k in FIGURES)}""",
        [(hour, z, f["station"], f["need"], *(f[k] for k in FIGURES)) for z, f in per_zone.items()])
    await conn.executemany(
        f"""INSERT INTO presence_day (day, zone, station, {', '.join(FIGURES)})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (day, zone) DO UPDATE SET station = EXCLUDED.station,
                {', '.join(f'{k} = presence_day.{k} + EXCLUDED.{k}' for k in FIGURES)}, updated_at = now()""",
        [(day, z, f["station"], *(f[k] - before.get(z, {}).get(k, 0) for k in FIGURES)) for z, f in per_zone.items()])


def _rates(r: dict[str, Any]) -> dict[str, Any]:
    req, hours, minutes = r["required_unit_min"], r["zone_hours"], r["minutes"]
    return {**r, "presence_rate": r["zone_hours_seen"] / hours if hours else None,
            "fulfilment_rate": r["delivered_unit_min"] / req if req else None,
            "met_share": r["met_minutes"] / minutes if minutes else None}


async def daily_figures(conn: asyncpg.Connection, day_from: dt.date, day_to: dt.date,
                        stations: list[str] | None = None) -> list[dict[str, Any]]:
    """Per local day and station, days inclusive (for briefings): presence_rate (街面见警率), fulfilment_rate
    (勤务落实率), met_share (share of zone-minutes at the minimum) — None where nothing was measured — and the
    sums behind them (minutes, met_minutes, required_unit_min, delivered_unit_min, zone_hours, zone_hours_seen).
    `stations` None: every station. Callers narrow `stations` to the reader's scope."""
    rows = await conn.fetch(
        """SELECT day, station, sum(minutes)::int AS minutes, sum(met_minutes)::int AS met_minutes,
                  sum(required_unit_min) AS required_unit_min, sum(delivered_unit_min) AS delivered_unit_min,
                  sum(zone_hours)::int AS zone_hours, sum(zone_hours_seen)::int AS zone_hours_seen
           FROM presence_day WHERE day BETWEEN $1 AND $2 AND ($3::text[] IS NULL OR station = ANY($3::text[]))
           GROUP BY day, station ORDER BY day, station""", day_from, day_to, stations)
    return [_rates(dict(r)) for r in rows]



async def period_figures(conn: asyncpg.Connection, day_from: dt.date, day_to: dt.date,
                         stations: list[str] | None = None) -> dict[str, Any]:
    """The same rates over the whole period (days inclusive, all the stations given together): the sums
    of every day and zone first, then the shares, so that a quiet day weighs what it measured."""
    days = await daily_figures(conn, day_from, day_to, stations)
    return _rates({k: sum(d[k] for d in days) for k in
                   ("minutes", "met_minutes", "required_unit_min", "delivered_unit_min", "zone_hours", "zone_hours_seen")})

async def live_coverage(conn: asyncpg.Connection, response: ResponsePlan, shift_start: dt.datetime,
                        stations: list[str] | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Per zone: the share of the last hour and of the shift (since `shift_start`) with its minimum met, and
    the two rates over the shift for all zones together."""
    now = now or dt.datetime.now(dt.UTC)
    hour = await measure(conn, response, now - dt.timedelta(hours=1), now, stations)
    shift = await measure(conn, response, shift_start, now, stations)
    total = {k: sum(f[k] for f in shift.values()) for k in
             ("minutes", "met_minutes", "required_unit_min", "delivered_unit_min", "zone_hours", "zone_hours_seen")}
    return {"zones": {z: {"station": f["station"], "need": f["need"],
                          "met_last_hour": hour[z]["met_minutes"] / hour[z]["minutes"] if hour[z]["minutes"] else None,
                          "met_shift": f["met_minutes"] / f["minutes"] if f["minutes"] else None}
                      for z, f in shift.items()},
            "shift": _rates(total)}
