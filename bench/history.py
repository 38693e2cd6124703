"""History back-fill: `qingzhi simulate --history 28` for 300 units, timed, against a naive baseline.

Target: the default demo back-fill (300 units, 28 days: ~8,000 incidents with their lifecycles,
statuses and camera states, ~864,000 track fixes) well under a minute on the 2-core machine.
Baseline, in the same run: the same track rows written with one INSERT per row in a single
transaction (a sample; rows/s extrapolated), which is how a naive back-fill would do it.

    python -m bench.history [--units 300] [--days 28] [--naive-rows 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta

import asyncpg

from qingzhi.config import load_settings
from qingzhi.db import migrate_url
from qingzhi.simulator.history import Backfill, write_history
from qingzhi.simulator.incidents import utcnow
from qingzhi.simulator.reference import write_reference
from qingzhi.simulator.run import prepare
from bench.services import CALLER_KEY, scratch_database




async def _run(url: str, units: int, days: int, naive_rows: int) -> None:
    await migrate_url(url)
    settings = load_settings(database_url=url, caller_key=CALLER_KEY)
    district, specs = prepare(settings, units=units, stations=4, seed=1, roads=None)
    conn = await asyncpg.connect(url)
    try:
        await write_reference(conn, district, specs)
        started = time.perf_counter()
        counts = await write_history(conn, Backfill(district, specs, 1, settings.caller_key, 12.0), days)
        took = time.perf_counter() - started
        rows = counts.incidents + counts.assignments + counts.positions + counts.statuses + counts.cam_states
        print(f"back-fill: {units} units, {days} days: {counts.incidents} incidents, {counts.positions} fixes, "
              f"{counts.statuses} statuses, {counts.cam_states} camera states in {took:.1f} s "
              f"({rows / took:,.0f} rows/s)  target < 60 s: {'OK' if took < 60 else 'MISSED'}")

        # baseline: one INSERT per track row (into a copy of the table, so keys do not collide)
        now = utcnow()
        sample = Backfill(district, specs[:20], 2, settings.caller_key, 12.0).tracks(now - timedelta(days=1), now)
        sample = sample.head(naive_rows)
        await conn.execute("CREATE TABLE naive_positions (LIKE positions INCLUDING DEFAULTS INCLUDING INDEXES)")
        cols = list(sample.columns)
        sql = (f"INSERT INTO naive_positions ({', '.join(cols)}) VALUES "
               f"({', '.join(f'${i + 1}' + ('::text::timestamptz' if c.endswith('ts') else '') for i, c in enumerate(cols))})")
        records = [tuple(None if v != v else v for v in r)  # NaN (no value) -> NULL
                   for r in sample.astype(object).itertuples(index=False, name=None)]
        started = time.perf_counter()
        async with conn.transaction():
            for r in records:
                await conn.execute(sql, *r)
        naive = len(records) / (time.perf_counter() - started)
        ours = counts.positions / took if took else 0.0
        print(f"naive one INSERT per fix: {naive:,.0f} fixes/s ({len(records)} rows); "
              f"back-fill overall {ours:,.0f} fixes/s incl. everything else: {ours / naive:.1f}x")
    finally:
        await conn.close()


def main() -> None:
    """Back-fill into a scratch database on the machine's PostgreSQL, print the figures, drop it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--units", type=int, default=300)
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--naive-rows", type=int, default=20_000)
    args, _ = ap.parse_known_args()
    with scratch_database("qz_bench_history") as url:
        asyncio.run(_run(url, args.units, args.days, args.naive_rows))


if __name__ == "__main__":
    main()
