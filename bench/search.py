"""Search over a million incidents: the one-box search of qingzhi.core.search beside a naive query.

    python -m bench.search [--incidents 1000000] [--repeat 15]

In one run, on a fresh database on QZ_BENCH_PG_URL (default: the machine's PostgreSQL): write
`--incidents` incidents over three years (addresses from a street list, types, stations, a third
with a hashed caller) and a unit assignment for every third, then time, for each key a person
types (an incident id, a phone number, a unit, a station, a type, address text, the same with a
time range), the core's search (each key on its own index, results joined) against the naive
query most first versions write: one statement ORing every key. Both must find the same newest
incidents. Also the full trace of one incident. Medians of `--repeat` runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import numpy as np

from bench.services import admin_sql, db_url
from qingzhi.core.actor import Actor
from qingzhi.core.callers import hash_caller
from qingzhi.core.search import LIMIT, search, trace
from qingzhi.db import migrate_url

KEY = "bench-caller-key-0123456789abcdef"
STREETS = ["文三路", "文二路", "古翠路", "学院路", "教工路", "天目山路", "莫干山路", "延安路", "体育场路", "凤起路",
           "庆春路", "解放路", "西溪路", "余杭塘路", "紫金港路", "丰潭路", "登云路", "湖墅南路", "环城北路", "建国北路"]
TYPES = ["theft.ebike", "dispute.family", "traffic.accident", "dispute.fight", "theft.pickpocket", "fraud.scam",
         "noise.complaint", "public.drunk", "theft.burglary", "help.lost_person"]
STATIONS = ["XH", "GS", "BS", "SC", "GD", "WL"]
ADMIN = Actor.person("bench", "bench", role="admin")

NAIVE = f"""
SELECT i.id FROM incidents i
WHERE (i.id = $1 OR i.address ILIKE '%' || $1 || '%' OR i.type = $1 OR i.category = $1 OR i.station = $1
       OR i.caller_hash = $2 OR EXISTS (SELECT 1 FROM assignments a WHERE a.incident = i.id AND a.unit = $1))
  AND ($3::timestamptz IS NULL OR i.ts >= $3) AND ($4::timestamptz IS NULL OR i.ts < $4)
ORDER BY i.ts DESC LIMIT {LIMIT}"""


async def _fill(conn: asyncpg.Connection, n: int, end: dt.datetime) -> None:
    rng = np.random.default_rng(13)
    start = end - dt.timedelta(days=3 * 365)
    secs = np.sort(rng.uniform(0, (end - start).total_seconds(), n))
    types, stations = rng.integers(len(TYPES), size=n), rng.integers(len(STATIONS), size=n)
    streets, numbers = rng.integers(len(STREETS), size=n), rng.integers(1, 500, size=n)
    callers = rng.integers(300_000, size=n)
    hashes = {k: hash_caller(KEY, f"1380{k:07d}") for k in np.unique(callers[::3])}
    chunk = 200_000
    for lo in range(0, n, chunk):
        rows = [(f"B{k:08d}", start + dt.timedelta(seconds=float(secs[k])), 30.27 + (k % 997) * 1e-4,
                 120.15 + (k % 991) * 1e-4, TYPES[types[k]], TYPES[types[k]].split(".")[0], 3,
                 f"{STREETS[streets[k]]} {numbers[k]} 号", hashes[callers[k]] if k % 3 == 0 else None,
                 STATIONS[stations[k]], "import", "closed")
                for k in range(lo, min(lo + chunk, n))]
        await conn.copy_records_to_table("incidents", records=rows, columns=[
            "id", "ts", "lat", "lon", "type", "category", "priority", "address", "caller_hash", "station", "source", "state"])
    await conn.execute(
        """INSERT INTO assignments (incident, unit, assigned_at, assigned_by, released_at)
           SELECT id, 'U' || lpad((hashtext(id) & 511)::text, 3, '0'), ts + interval '1 minute', 'bench',
                  ts + interval '30 minutes' FROM incidents WHERE right(id, 1) IN ('0', '3', '6')""")
    await conn.execute("INSERT INTO stations (id, name_zh, name_en, lat, lon) SELECT s, s || '派出所', s, 30.3, 120.1"
                       " FROM unnest($1::text[]) s", STATIONS)
    await conn.execute("ANALYZE")


async def _median(repeat: int, fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    result, times = None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = await fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


async def _run(url: str, n: int, repeat: int) -> None:
    await migrate_url(url)
    conn = await asyncpg.connect(url)
    try:
        end = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
        t0 = time.perf_counter()
        await _fill(conn, n, end)
        print(f"{n:,} incidents written and analysed in {time.perf_counter() - t0:.0f} s")
        number = "138 0000 0042"
        sample_id = await conn.fetchval("SELECT id FROM incidents ORDER BY ts DESC OFFSET 12345 LIMIT 1")
        cases = [("incident id", sample_id, None), ("phone number", number, None), ("unit", "U042", None),
                 ("station", "GS", None), ("type", "theft.burglary", None), ("address text", "天目山路 123", None),
                 ("address, last 30 days", "文三路", end - dt.timedelta(days=30))]
        print(f"{'typed':24} {'core ms':>8} {'naive ms':>9} {'ratio':>7}  found")
        for label, text, since in cases:
            core_ms, found = await _median(repeat, lambda: search(ADMIN, conn, text, caller_key=KEY, since=since))
            naive_ms, naive = await _median(max(3, repeat // 5), lambda: conn.fetch(
                NAIVE, text, hash_caller(KEY, text) if label == "phone number" else None, since, None))
            core_ids = [r["id"] for r in found]
            same = core_ids[:20] == [r["id"] for r in naive][:20]
            print(f"{label:24} {core_ms:8.1f} {naive_ms:9.1f} {naive_ms / core_ms:6.0f}×  {len(core_ids)}"
                  f"{'' if same else '  (DIFFERENT RESULTS)'}")
        trace_ms, got = await _median(repeat, lambda: trace(ADMIN, conn, sample_id))
        print(f"{'full trace of one':24} {trace_ms:8.1f}  ({len(got['events'])} events)")
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--incidents", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=15)
    args = p.parse_args(argv)
    name = "qz_bench_search"
    admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {name}")
    try:
        asyncio.run(_run(db_url(name), args.incidents, args.repeat))
    finally:
        admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
