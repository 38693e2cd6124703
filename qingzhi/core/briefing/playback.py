"""Playback ("where was everybody at 16:00 last Tuesday"): the tracks of chosen units, or of every
unit seen in an area, over a window, thinned to one fix per STEP_S; their statuses over the
window, the incidents received in it, and the long stops.

Reading every fix of a shift is too slow (500 units × 8 h at one fix per 10 s is 1.44 million rows:
over a second just to scan and thin). So the duty loop folds each finished hour of each unit's
track into one `track_hours` row of arrays, thinned to STEP_S (`fold_tracks`); playback reads those
rows and only the not yet folded tail from `positions` (bench/playback.py measures both paths).
A fix that arrives after its hour was folded (a device that kept its fixes while out of coverage)
has its unit-hour queued by the ingest in `track_late`, and the next fold folds that hour again.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

import asyncpg

from qingzhi.core.access import require, scope
from qingzhi.core.actor import Actor
from qingzhi.core.late_fixes import FOLD_GRACE
from qingzhi.errors import QingzhiError

MAX_WINDOW = dt.timedelta(hours=24)
STEP_S = 30                               # one fix per this many seconds is plenty for a map at play speed
FOLD_MAX_HOURS = 6   # hours folded per run: the chore holds the duty round, so its work stays bounded
FOLD_FROM = dt.timedelta(days=8)          # a first fold starts this far back (fixes older are refused anyway)
MAX_UNITS = 2000
MAX_INCIDENTS = 5000
UNIT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
STATUS_LOOKBACK = dt.timedelta(hours=12)  # the status a unit had when the window opened
EARTH_M = 6_371_000.0


@dataclass(frozen=True)
class Window:
    """What to play back: the time window, the units (None: all in scope) or an area, the thinning."""

    since: dt.datetime
    until: dt.datetime
    units: tuple[str, ...] | None = None
    bbox: tuple[float, float, float, float] | None = None  # south, west, north, east
    stop_min: float = 10.0   # a stay this long within STOP_M metres is a stop
    stop_m: float = 60.0

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise QingzhiError("playback times need a time zone")
        if not self.since < self.until <= self.since + MAX_WINDOW:
            raise QingzhiError(f"a playback window runs forward and is at most {MAX_WINDOW.total_seconds() / 3600:.0f} h")
        if not (1 <= self.stop_min <= 24 * 60 and 5 <= self.stop_m <= 5000):
            raise QingzhiError("a stop is 1 min to 24 h within 5 to 5,000 m")
        if self.units is not None:
            if not 0 < len(self.units) <= MAX_UNITS or not all(UNIT.match(u) for u in self.units):
                raise QingzhiError(f"name 1 to {MAX_UNITS} units by call sign ([A-Za-z0-9_.-], up to 64)")
        if self.bbox is not None:
            s, w, n, e = self.bbox
            if not (-90 <= s < n <= 90 and -180 <= w < e <= 180):
                raise QingzhiError("the area must be south < north and west < east, in degrees")


THIN = f"""SELECT DISTINCT ON (unit, floor(extract(epoch FROM ts) / {STEP_S}))
                  unit, station, extract(epoch FROM ts)::float8 AS t, lat, lon
           FROM positions WHERE ts >= $1 AND ts < $2 {{extra}}
           ORDER BY unit, floor(extract(epoch FROM ts) / {STEP_S}), ts"""
SCOPE = "AND ($3::text[] IS NULL OR station = ANY($3::text[])) AND ($4::text[] IS NULL OR unit = ANY($4::text[]))"


# Thinned fixes, each unit's hour as one row of arrays, written over whatever that hour held.
FOLD = """WITH {late} folded AS (
              INSERT INTO track_hours (unit, hour, station, t, lat, lon)
              SELECT unit, date_trunc('hour', to_timestamp(t), 'UTC'), min(station), array_agg(t ORDER BY t),
                     array_agg(lat ORDER BY t), array_agg(lon ORDER BY t)
              FROM ({thin}) AS thin GROUP BY 1, 2
              ON CONFLICT (unit, hour) DO UPDATE SET station = EXCLUDED.station, t = EXCLUDED.t,
                  lat = EXCLUDED.lat, lon = EXCLUDED.lon
              RETURNING 1)
          SELECT count(*) FROM folded"""
# The unit-hours the ingest queued for fixes that came after their hour was folded, taken off the queue.
LATE = "late AS (DELETE FROM track_late RETURNING unit, hour),"
LATE_THIN = f"""SELECT DISTINCT ON (p.unit, floor(extract(epoch FROM p.ts) / {STEP_S}))
                  p.unit, p.station, extract(epoch FROM p.ts)::float8 AS t, p.lat, p.lon
           FROM late JOIN positions p ON p.unit = late.unit AND p.ts >= late.hour
                                     AND p.ts < late.hour + interval '1 hour'
           ORDER BY p.unit, floor(extract(epoch FROM p.ts) / {STEP_S}), p.ts"""


async def fold_tracks(conn: asyncpg.Connection, now: dt.datetime) -> int:
    """The duty loop's chore: fold every finished hour (FOLD_GRACE after its end) not folded yet,
    at most FOLD_MAX_HOURS per run, and again every hour late fixes were queued for; returns how many
    unit-hours were written. Idempotent."""
    done = await conn.fetchval("SELECT until FROM track_folded")
    start = done or (now - FOLD_FROM).replace(minute=0, second=0, microsecond=0)
    end = min((now - FOLD_GRACE).replace(minute=0, second=0, microsecond=0), start + dt.timedelta(hours=FOLD_MAX_HOURS))
    async with conn.transaction():
        written = await conn.fetchval(FOLD.format(late=LATE, thin=LATE_THIN))
        if end > start:
            written += await conn.fetchval(FOLD.format(late="", thin=THIN.format(extra="")), start, end)
            await conn.execute("""INSERT INTO track_folded (until) VALUES ($1)
                                  ON CONFLICT (id) DO UPDATE SET until = EXCLUDED.until""", end)
    return written


async def prune_tracks(conn: asyncpg.Connection, keep_from: dt.datetime) -> int:
    """Drop folded hours older than the history kept (the positions' retention)."""
    return int((await conn.execute("DELETE FROM track_hours WHERE hour < $1", keep_from)).split()[-1])


def _cut(t: list[float], lat: list[float], lon: list[float], lo: float, hi: float) -> tuple[list, list, list]:
    i, j = bisect.bisect_left(t, lo), bisect.bisect_left(t, hi)
    return t[i:j], lat[i:j], lon[i:j]


def _in_box(track: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    s, w, n, e = box
    return any(s <= a <= n and w <= o <= e for a, o in zip(track["lat"], track["lon"], strict=True))


async def tracks(conn: asyncpg.Connection, win: Window, stations: list[str] | None) -> list[dict[str, Any]]:
    """[{unit, station, t (epoch s), lat, lon}] thinned to one fix per STEP_S, in time order: the
    folded hours from track_hours, the rest from positions; only units seen in the area, if given."""
    folded_until = await conn.fetchval("SELECT until FROM track_folded") or win.since
    split = min(max(folded_until, win.since), win.until)
    units = list(win.units) if win.units else None
    out: dict[str, dict[str, Any]] = {}
    lo, hi = win.since.timestamp(), win.until.timestamp()
    if split > win.since:
        rows = await conn.fetch(
            f"""SELECT unit, station, t, lat, lon FROM track_hours
                WHERE hour >= date_trunc('hour', $1::timestamptz, 'UTC') AND hour < $2 {SCOPE} ORDER BY unit, hour""",
            win.since, split, stations, units)
        for r in rows:
            tr = out.setdefault(r["unit"], {"unit": r["unit"], "station": r["station"], "t": [], "lat": [], "lon": []})
            t, lat, lon = _cut(r["t"], r["lat"], r["lon"], lo, hi)
            tr["t"] += t
            tr["lat"] += lat
            tr["lon"] += lon
    if split < win.until:
        rows = await conn.fetch(
            f"""SELECT unit, min(station) AS station, array_agg(t ORDER BY t) AS t, array_agg(lat ORDER BY t) AS lat,
                       array_agg(lon ORDER BY t) AS lon FROM ({THIN.format(extra=SCOPE)}) AS thin GROUP BY unit""",
            split, win.until, stations, units)
        for r in rows:
            tr = out.setdefault(r["unit"], {"unit": r["unit"], "station": r["station"], "t": [], "lat": [], "lon": []})
            tr["t"] += r["t"]
            tr["lat"] += r["lat"]
            tr["lon"] += r["lon"]
    found = [out[u] for u in sorted(out) if out[u]["t"]]
    return [tr for tr in found if _in_box(tr, win.bbox)] if win.bbox else found


async def statuses(conn: asyncpg.Connection, win: Window, units: list[str]) -> dict[str, dict[str, list[Any]]]:
    """unit → {t, status}: each status report in the window and the last one before it."""
    rows = await conn.fetch(
        """SELECT unit, array_agg(extract(epoch FROM ts)::float8 ORDER BY ts) AS t, array_agg(status ORDER BY ts) AS s
           FROM (SELECT DISTINCT ON (unit) unit, ts, status FROM statuses
                 WHERE unit = ANY($3::text[]) AND ts >= $1::timestamptz - $4::interval AND ts < $1 ORDER BY unit, ts DESC) AS before
           GROUP BY unit
           UNION ALL
           SELECT unit, array_agg(extract(epoch FROM ts)::float8 ORDER BY ts), array_agg(status ORDER BY ts)
           FROM statuses WHERE unit = ANY($3::text[]) AND ts >= $1 AND ts < $2 GROUP BY unit""",
        win.since, win.until, units, STATUS_LOOKBACK,
    )
    out: dict[str, dict[str, list[Any]]] = {}
    for r in rows:
        got = out.setdefault(r["unit"], {"t": [], "status": []})
        got["t"] += list(r["t"])
        got["status"] += list(r["s"])
    for got in out.values():  # the report before the window first, then the window's
        order = sorted(range(len(got["t"])), key=got["t"].__getitem__)
        got["t"], got["status"] = [got["t"][i] for i in order], [got["status"][i] for i in order]
    return out


async def incidents(conn: asyncpg.Connection, win: Window, stations: list[str] | None) -> list[dict[str, Any]]:
    """Incidents received in the window (in the area, if one is given), oldest first."""
    s, w, n, e = win.bbox or (-90.0, -180.0, 90.0, 180.0)
    rows = await conn.fetch(
        """SELECT id, extract(epoch FROM ts)::float8 AS t, lat, lon, type, priority FROM incidents
           WHERE ts >= $1 AND ts < $2 AND state <> 'merged' AND ($3::text[] IS NULL OR station = ANY($3::text[]))
             AND lat BETWEEN $4 AND $6 AND lon BETWEEN $5 AND $7 ORDER BY ts LIMIT $8""",
        win.since, win.until, stations, s, w, n, e, MAX_INCIDENTS,
    )
    return [dict(r) for r in rows]


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance on the sphere (equirectangular: exact enough within a city)."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return EARTH_M * math.hypot(x, math.radians(lat2 - lat1))


def stops(track: dict[str, Any], min_s: float, radius_m: float) -> list[dict[str, Any]]:
    """Stays of at least `min_s` seconds within `radius_m` of where the stay began."""
    t, lat, lon = track["t"], track["lat"], track["lon"]
    out, i = [], 0
    while i < len(t):
        j = i
        while j + 1 < len(t) and metres(lat[i], lon[i], lat[j + 1], lon[j + 1]) <= radius_m:
            j += 1
        if t[j] - t[i] >= min_s:
            out.append({"unit": track["unit"], "from": t[i], "to": t[j], "lat": lat[i], "lon": lon[i]})
        i = j + 1
    return out


def position_at(track: dict[str, Any], at: float) -> tuple[float, float] | None:
    """Where the unit was at epoch second `at`: between two fixes by straight-line interpolation;
    None before its first fix or after its last."""
    t = track["t"]
    if not t or at < t[0] or at > t[-1]:
        return None
    k = bisect.bisect_right(t, at) - 1
    if k == len(t) - 1 or t[k] == at:
        return track["lat"][k], track["lon"][k]
    f = (at - t[k]) / (t[k + 1] - t[k])
    return (track["lat"][k] + f * (track["lat"][k + 1] - track["lat"][k]),
            track["lon"][k] + f * (track["lon"][k + 1] - track["lon"][k]))


async def playback(actor: Actor, conn: asyncpg.Connection, win: Window) -> dict[str, Any]:
    """Everything the playback shows, narrowed to the stations the actor may see."""
    require(actor, "briefing.view")
    stations = scope(actor)
    found = await tracks(conn, win, stations)
    status = await statuses(conn, win, [tr["unit"] for tr in found])
    for tr in found:
        got = status.get(tr["unit"], {"t": [], "status": []})
        tr["st_t"], tr["st"] = got["t"], got["status"]
    return {"since": win.since.timestamp(), "until": win.until.timestamp(), "units": found,
            "incidents": await incidents(conn, win, stations),
            "stops": [s for tr in found for s in stops(tr, win.stop_min * 60, win.stop_m)]}
