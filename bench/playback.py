"""Playback: 500 units × 8 hours of tracks (one fix every 10 s: 1,440,000 fixes) loaded for the
playback page, timed beside a naive query in the same run.

Target (issue 12): under 2 s. Ours: qingzhi.core.briefing.playback.playback over the hours the duty
loop has folded (one row of 30 s-thinned arrays per unit and hour), plus statuses, incidents and
stops; also timed before folding (thinned from the raw fixes in PostgreSQL). Baseline: every fix
of the window as one row (`SELECT … ORDER BY unit, ts`), grouped per unit in Python.

    python -m bench.playback [--units 500] [--hours 8] [--every 10]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from collections import defaultdict

import asyncpg
import numpy as np

from bench.services import scratch_database
from qingzhi.core.actor import Actor
from qingzhi.core.briefing.playback import Window, fold_tracks, playback
from qingzhi.db import migrate_url

STATUSES = ("patrolling", "en_route", "on_scene", "available")


async def _seed(conn: asyncpg.Connection, start: dt.datetime, units: int, hours: int, every: int) -> int:
    """Random walks around one city centre (every fifth unit parks for the first hour), statuses
    every 20 min, an incident every 30 s."""
    rng = np.random.default_rng(1)
    n = hours * 3600 // every
    await conn.execute("SELECT qz_ensure_partitions(t, $1, $2) FROM unnest(ARRAY['positions', 'statuses']) t",
                       start.date(), (start + dt.timedelta(hours=hours)).date())
    await conn.execute("INSERT INTO stations (id, name_zh, name_en, lat, lon) VALUES ('S1', 'S1', 'S1', 30.27, 120.15)")
    secs = np.arange(n) * every
    rows = 0
    for u in range(units):
        steps = rng.normal(0, 0.00015, size=(n, 2))
        if u % 5 == 0:
            steps[: 3600 // every] = 0
        path = np.cumsum(steps, axis=0) + (30.27 + rng.uniform(-0.05, 0.05), 120.15 + rng.uniform(-0.05, 0.05))
        records = [(f"U{u:04d}", start + dt.timedelta(seconds=int(s)), start, "S1", float(a), float(b))
                   for s, (a, b) in zip(secs, path, strict=True)]
        await conn.copy_records_to_table("positions", records=records,
                                         columns=["unit", "ts", "recv_ts", "station", "lat", "lon"])
        rows += len(records)
        status = [(f"U{u:04d}", start + dt.timedelta(minutes=20 * k), start, "S1", STATUSES[k % 4])
                  for k in range(hours * 3)]
        await conn.copy_records_to_table("statuses", records=status, columns=["unit", "ts", "recv_ts", "station", "status"])
    incidents = [(f"I{k}", start + dt.timedelta(seconds=30 * k), 30.27, 120.15, "theft.ebike", "theft", "S1")
                 for k in range(hours * 120)]
    await conn.copy_records_to_table("incidents", records=incidents,
                                     columns=["id", "ts", "lat", "lon", "type", "category", "station"])
    await conn.execute("ANALYZE positions; ANALYZE statuses")
    return rows


async def _naive(conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime) -> dict[str, list]:
    rows = await conn.fetch("SELECT unit, ts, lat, lon FROM positions WHERE ts >= $1 AND ts < $2 ORDER BY unit, ts",
                            since, until)
    out: dict[str, list] = defaultdict(list)
    for r in rows:
        out[r["unit"]].append((r["ts"].timestamp(), r["lat"], r["lon"]))
    return out


async def _best(call, label: str) -> float:  # noqa: ANN001 - a coroutine function
    took = []
    for _ in range(3):
        t1 = time.perf_counter()
        got = await call()
        took.append(time.perf_counter() - t1)
    size = sum(len(u["t"]) for u in got["units"]) if isinstance(got, dict) and "units" in got else sum(
        map(len, got.values()))
    print(f"{label}: best of 3 {min(took):.2f} s ({size:,} points)")
    return min(took)


async def _run(url: str, units: int, hours: int, every: int) -> None:
    await migrate_url(url)
    conn = await asyncpg.connect(url)
    try:
        start = dt.datetime.combine(dt.date.today() - dt.timedelta(days=1), dt.time(8), dt.UTC)
        t0 = time.perf_counter()
        rows = await _seed(conn, start, units, hours, every)
        print(f"seeded {rows:,} fixes ({units} units × {hours} h, one per {every} s) in {time.perf_counter() - t0:.1f} s")
        until = start + dt.timedelta(hours=hours)
        win = Window(start, until)
        actor = Actor.person("bench", role="analyst")
        naive = await _best(lambda: _naive(conn, start, until), "naive (every fix, one row each)")
        raw = await _best(lambda: playback(actor, conn, win), "before folding (thinned from the fixes)")
        await conn.execute("INSERT INTO track_folded (until) VALUES ($1)", start)  # caught up to the shift's start
        t1 = time.perf_counter()
        folded = 0
        while await conn.fetchval("SELECT until FROM track_folded") < until:  # a few runs of the chore
            folded += await fold_tracks(conn, until + dt.timedelta(hours=1))
        print(f"duty loop folded {folded:,} unit-hours in {time.perf_counter() - t1:.1f} s")
        ours = await _best(lambda: playback(actor, conn, win), "folded hours")
        print(f"playback load: {ours:.2f} s, naive {naive:.2f} s (× {naive / ours:.1f}), before folding {raw:.2f} s  "
              f"target < 2 s: {'OK' if ours < 2 else 'MISSED'}")
    finally:
        await conn.close()


def main() -> None:
    """Fresh database, seed, time both loads, drop the database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--hours", type=int, default=8)
    parser.add_argument("--every", type=int, default=10)
    args, _ = parser.parse_known_args()
    with scratch_database("qz_bench_playback") as url:
        asyncio.run(_run(url, args.units, args.hours, args.every))


if __name__ == "__main__":
    main()
