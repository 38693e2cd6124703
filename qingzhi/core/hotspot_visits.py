"""Hotspot visits against the response plan's patrol pattern (Koper: 12–15 minutes, every so often).

The hotspots are each station's top H3 resolution-9 cells by incidents over the last `hotspot_days`
(the three-highs pre-aggregate an_cell_day). A *visit* is a run of at least the level's
`hotspot_visit_min` consecutive minutes with a counted unit inside the cell (qingzhi.core.presence's
rule of presence); a hotspot is *due* when no visit ended within the level's `hotspot_every_min`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg
import h3
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from qingzhi.core.presence import ZoneSpec, history, present_counts
from qingzhi.core.response_plan import ResponsePlan

WINDOW_H = 2     # visits are counted over the last two hours


async def hotspots(conn: asyncpg.Connection, response: ResponsePlan, stations: list[str] | None,
                   today: dt.date) -> list[dict[str, Any]]:
    """Each station's top cells: {cell (hex), station, n, lat, lon, boundary, level} (level: the zone
    level in force where the cell's centre lies; 0 if in none)."""
    rows = await conn.fetch(
        """SELECT station, cell9, n FROM (
             SELECT station, cell9, sum(n) AS n, row_number() OVER (PARTITION BY station ORDER BY sum(n) DESC, cell9) AS k
             FROM an_cell_day WHERE day > $1::date - $2::int AND day <= $1
               AND ($3::text[] IS NULL OR station = ANY($3::text[]))
             GROUP BY station, cell9) ranked
           WHERE k <= $4 ORDER BY station, k""",
        today, response.hotspot_days, stations, response.hotspots_per_station)
    out = []
    for r in rows:
        cell = h3.int_to_str(r["cell9"])
        lat, lon = h3.cell_to_latlng(cell)
        ring = [[x, y] for y, x in h3.cell_to_boundary(cell)]
        out.append({"cell": cell, "station": r["station"], "n": int(r["n"]), "lat": lat, "lon": lon,
                    "boundary": {"type": "Polygon", "coordinates": [ring + ring[:1]]}})
    return out


def visits(present: np.ndarray, min_minutes: int) -> list[int]:
    """End indices (exclusive) of the runs of ≥ min_minutes consecutive True values."""
    ends, start = [], None
    for i, p in enumerate([*present, False]):
        if p and start is None:
            start = i
        elif not p and start is not None:
            if i - start >= min_minutes:
                ends.append(i)
            start = None
    return ends


async def _levels_at(conn: asyncpg.Connection, spots: list[dict[str, Any]]) -> list[int]:
    """The zone level in force at each hotspot's centre (0: in no zone)."""
    zones = await conn.fetch("SELECT boundary, alert_level FROM zones ORDER BY id")
    lons = np.array([s["lon"] for s in spots])
    lats = np.array([s["lat"] for s in spots])
    found = np.zeros(len(spots), int)
    for z in zones:
        geo = z["boundary"] if isinstance(z["boundary"], dict) else json.loads(z["boundary"])
        inside = shapely.contains_xy(shape(geo), lons, lats) & (found == 0)
        found[inside] = z["alert_level"] or 4
    return found.tolist()


async def hotspot_visits(conn: asyncpg.Connection, response: ResponsePlan, stations: list[str] | None,
                         today: dt.date, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Per hotspot: visits in the last two hours, minutes since the last visit ended, and whether it is due
    under the pattern of the level in force where it lies."""
    now = now or dt.datetime.now(dt.UTC)
    spots = await hotspots(conn, response, stations, today)
    if not spots:
        return []
    start = now - dt.timedelta(hours=WINDOW_H)
    minutes = pd.date_range(pd.Timestamp(start).ceil("min"), pd.Timestamp(now), freq="min", inclusive="left")
    rings = [np.array(s["boundary"]["coordinates"][0]) for s in spots]
    boxes = np.array([[r[:, 1].min(), r[:, 1].max(), r[:, 0].min(), r[:, 0].max()] for r in rings])
    fixes, statuses = await history(conn, start, now, response.counted_kinds, stations, boxes)
    counts = present_counts(fixes, statuses, [ZoneSpec(s["cell"], s["station"], s["boundary"], 1) for s in spots],
                            minutes)
    out = []
    for s, row, level in zip(spots, counts, await _levels_at(conn, spots)):
        pattern = response.level(level)
        ends = visits(row > 0, pattern.hotspot_visit_min)
        since = (len(minutes) - ends[-1]) if ends else None
        out.append({"cell": s["cell"], "station": s["station"], "incidents": s["n"], "lat": s["lat"], "lon": s["lon"],
                    "visits": len(ends), "minutes_since_visit": since,
                    "due": since is None or since > pattern.hotspot_every_min,
                    "level": level, "pattern": f"{pattern.hotspot_visit_min} min / {pattern.hotspot_every_min} min"})
    return out
