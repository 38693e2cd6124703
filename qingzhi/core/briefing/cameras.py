"""Body-worn cameras in a period: the share of on-scene time with the camera recording, per
station, and the cameras that reported a fault or a flat battery.

A unit's status (and its camera's state) holds from its report until the next one; the state at
the period's start is the last report of the day before. Time is clipped to the period.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from qingzhi.core.vocab import CAM_RECORDING

FLAT_BATT = 10.0           # % at or below which a camera's battery is flat
LOOKBACK = dt.timedelta(days=1)  # how far back the state at the period's start is looked for
Span = tuple[dt.datetime, dt.datetime]


def spans(reports: Sequence[tuple[dt.datetime, bool]], since: dt.datetime, until: dt.datetime) -> list[Span]:
    """The stretches where the flag holds, from reports (ts, flag) in time order, clipped to the period."""
    out = []
    for i, (ts, on) in enumerate(reports):
        end = reports[i + 1][0] if i + 1 < len(reports) else until
        start, stop = max(ts, since), min(end, until)
        if on and stop > start:
            out.append((start, stop))
    return out


def overlap_s(a: Iterable[Span], b: Iterable[Span]) -> float:
    """Seconds that two lists of sorted, non-overlapping spans share."""
    a, b = list(a), list(b)
    i = j = 0
    total = 0.0
    while i < len(a) and j < len(b):
        start, stop = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if stop > start:
            total += (stop - start).total_seconds()
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


async def _reports(conn: asyncpg.Connection, table: str, flag: str, since: dt.datetime, until: dt.datetime,
                   stations: list[str] | None) -> dict[str, list[tuple[dt.datetime, bool, str]]]:
    rows = await conn.fetch(
        f"""(SELECT DISTINCT ON (unit) unit, ts, station, {flag} AS on FROM {table}
             WHERE ts >= $1 AND ts < $2 ORDER BY unit, ts DESC)
            UNION ALL
            (SELECT unit, ts, station, {flag} FROM {table} WHERE ts >= $2 AND ts < $3)
            ORDER BY unit, ts""",
        since - LOOKBACK, since, until,
    )
    out: dict[str, list[tuple[dt.datetime, bool, str]]] = defaultdict(list)
    for r in rows:
        if stations is None or r["station"] in stations:
            out[r["unit"]].append((r["ts"], r["on"], r["station"]))
    return out


async def camera_compliance(
    conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime, stations: list[str] | None,
) -> dict[str, dict[str, Any]]:
    """station → {on_scene_s, recording_s, share (None without on-scene time)}, plus `*` for all."""
    on_scene = await _reports(conn, "statuses", "status = 'on_scene'", since, until, stations)
    recording = await _reports(
        conn, "cam_states", f"state IN ({', '.join(repr(s) for s in CAM_RECORDING)})", since, until, stations)
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for unit, reports in on_scene.items():
        scene = spans([(ts, on) for ts, on, _ in reports], since, until)
        if not scene:
            continue
        rec = spans([(ts, on) for ts, on, _ in recording.get(unit, [])], since, until)
        station = reports[-1][2]
        for key in (station, "*"):
            totals[key][0] += sum((b - a).total_seconds() for a, b in scene)
            totals[key][1] += overlap_s(scene, rec)
    totals.setdefault("*", [0.0, 0.0])
    return {k: {"on_scene_s": v[0], "recording_s": v[1], "share": v[1] / v[0] if v[0] else None}
            for k, v in totals.items()}


async def camera_faults(
    conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime, stations: list[str] | None,
) -> dict[str, Any]:
    """Cameras (units) that reported `fault`, and that reported a battery at or below FLAT_BATT %,
    in the period: counts per station and the units."""
    rows = await conn.fetch(
        """SELECT station, unit, bool_or(state = 'fault') AS fault, bool_or(batt <= $4) AS flat
           FROM cam_states WHERE ts >= $1 AND ts < $2 AND ($3::text[] IS NULL OR station = ANY($3::text[]))
           GROUP BY 1, 2 HAVING bool_or(state = 'fault') OR bool_or(batt <= $4) ORDER BY 1, 2""",
        since, until, stations, FLAT_BATT,
    )
    return {"fault_units": [r["unit"] for r in rows if r["fault"]],
            "flat_units": [r["unit"] for r in rows if r["flat"]],
            "by_station": {s: {"faults": sum(1 for r in rows if r["station"] == s and r["fault"]),
                               "flat": sum(1 for r in rows if r["station"] == s and r["flat"])}
                           for s in sorted({r["station"] for r in rows})}}
