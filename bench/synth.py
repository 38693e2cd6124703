"""Realistic synthetic incidents for the analysis benchmark, screenshots and tests.

A city around a centre: most incidents in a few dozen Gaussian hotspots of different sizes, the
rest spread over ~15 km; each type has its own daily rhythm (disputes peak in the evening, traffic
at rush hours, thefts by day); burglaries found in the morning carry an overnight time window.
Stations split the city into four quadrant jurisdictions.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np

# type: (share, priority, hourly rhythm as 24 relative weights)
_DAY = np.array([1, 1, 1, 1, 1, 1, 2, 4, 6, 7, 8, 8, 8, 8, 8, 8, 8, 7, 6, 5, 4, 3, 2, 1], float)
_EVENING = np.array([4, 3, 2, 1, 1, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 4, 5, 6, 8, 10, 12, 12, 10, 7], float)
_RUSH = np.array([1, 1, 1, 1, 1, 2, 5, 10, 10, 6, 4, 4, 5, 4, 4, 5, 7, 10, 10, 6, 4, 3, 2, 1], float)
_NIGHT = np.array([8, 8, 7, 6, 5, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 4, 5, 6, 7, 8], float)
TYPES = {
    "theft.ebike": (0.20, 3, _DAY), "theft.pickpocket": (0.08, 3, _DAY), "burglary.home": (0.06, 2, _NIGHT),
    "dispute.family": (0.12, 2, _EVENING), "dispute.neighbour": (0.08, 3, _EVENING), "fight.street": (0.06, 1, _EVENING),
    "traffic.accident": (0.15, 2, _RUSH), "traffic.obstruction": (0.07, 4, _RUSH), "fraud.telecom": (0.08, 3, _DAY),
    "noise.complaint": (0.06, 4, _NIGHT), "help.lost": (0.04, 3, _DAY),
}
STATIONS = (("xh", "西湖派出所", "Xihu"), ("sc", "上城派出所", "Shangcheng"), ("gs", "拱墅派出所", "Gongshu"),
            ("bj", "滨江派出所", "Binjiang"))


def station_rows(center: tuple[float, float]) -> list[tuple]:
    """Four stations, each a quadrant of a 30 km square around the centre (GeoJSON boundary)."""
    lat, lon = center
    d = 0.15
    quads = ((-1, -1), (1, -1), (1, 1), (-1, 1))
    rows = []
    for (sid, zh, en), (sy, sx) in zip(STATIONS, quads, strict=True):
        la0, la1 = sorted((lat, lat + sy * d))
        lo0, lo1 = sorted((lon, lon + sx * d))
        ring = [[lo0, la0], [lo1, la0], [lo1, la1], [lo0, la1], [lo0, la0]]
        rows.append((sid, zh, en, (la0 + la1) / 2, (lo0 + lo1) / 2, json.dumps({"type": "Polygon", "coordinates": [ring]})))
    return rows


def generate(n: int, days: int, *, end: datetime, center: tuple[float, float], seed: int = 7) -> list[tuple]:
    """`n` incidents over the `days` before `end`, as incidents rows (see COLUMNS)."""
    rng = np.random.default_rng(seed)
    lat0, lon0 = center
    n_spots = 40
    spot_lat = lat0 + rng.normal(0, 0.05, n_spots)
    spot_lon = lon0 + rng.normal(0, 0.06, n_spots)
    spot_w = rng.pareto(1.2, n_spots) + 0.2
    spot_sd = rng.uniform(0.0015, 0.006, n_spots)
    in_spot = rng.random(n) < 0.7
    which = rng.choice(n_spots, n, p=spot_w / spot_w.sum())
    lat = np.where(in_spot, spot_lat[which] + rng.normal(0, 1, n) * spot_sd[which], lat0 + rng.normal(0, 0.06, n))
    lon = np.where(in_spot, spot_lon[which] + rng.normal(0, 1, n) * spot_sd[which] * 1.15, lon0 + rng.normal(0, 0.07, n))
    names = list(TYPES)
    shares = np.array([TYPES[k][0] for k in names])
    type_i = rng.choice(len(names), n, p=shares / shares.sum())
    day_offset = rng.integers(0, days, n)
    hours = np.empty(n, int)
    for i, name in enumerate(names):
        mask = type_i == i
        rhythm = TYPES[name][2]
        hours[mask] = rng.choice(24, mask.sum(), p=rhythm / rhythm.sum())
    weekend_boost = rng.random(n)  # a few more calls on Fridays
    start_day = (end - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    ts = [start_day + timedelta(days=int(d), hours=int(h), seconds=int(s))
          for d, h, s in zip(day_offset, hours, rng.integers(0, 3600, n), strict=True)]
    rows = []
    for i in range(n):
        name = names[type_i[i]]
        t = ts[i]
        if weekend_boost[i] < 0.03:  # back to the Friday before
            t -= timedelta(days=(t.weekday() - 4) % 7)
        start = end_ = None
        if name == "burglary.home":  # found in the morning, happened overnight
            t = t.replace(hour=int(rng.integers(7, 10)))
            start, end_ = t - timedelta(hours=float(rng.uniform(8, 12))), t - timedelta(minutes=30)
        rows.append((f"syn-{seed}-{i}", t, start, end_, float(lat[i]), float(lon[i]), name, name.split(".")[0],
                     TYPES[name][1], "simulator"))
    return rows


COLUMNS = ("id", "ts", "occurred_from", "occurred_to", "lat", "lon", "type", "category", "priority", "source")


async def load(conn: asyncpg.Connection, rows: list[tuple], center: tuple[float, float]) -> None:
    """Stations and incidents into the database (COPY), with each incident's station set by quadrant."""
    stations = station_rows(center)
    await conn.executemany(
        "INSERT INTO stations (id, name_zh, name_en, lat, lon, boundary) VALUES ($1, $2, $3, $4, $5, $6::jsonb) "
        "ON CONFLICT (id) DO NOTHING", stations)
    lat0, lon0 = center
    quad = {(-1, -1): "xh", (1, -1): "sc", (1, 1): "gs", (-1, 1): "bj"}
    with_station = [(*r, quad[(1 if r[4] >= lat0 else -1, 1 if r[5] >= lon0 else -1)]) for r in rows]
    await conn.copy_records_to_table("incidents", columns=[*COLUMNS, "station"], records=with_station)


def local_now(tz: str) -> datetime:
    """Now, to the hour, as an aware local time (`generate` lays out its hours in `end`'s zone)."""
    return datetime.now(ZoneInfo(tz)).replace(minute=0, second=0, microsecond=0)
