"""Benchmark of the police.uk import: `python -m bench.police_uk_import [--rows N] [--months M]`.

Writes police.uk-shaped files (bench.police_uk_files: one CSV per force per month, in month
folders; 1,000,000 rows by default), then, in one fresh database and the same run:
1. a bare COPY of the same files into a scratch table of text columns (the baseline: what
   PostgreSQL needs just to read the rows);
2. `qingzhi import incidents --format police-uk FOLDER` as the CLI runs it (checks, upsert into
   incidents, the analysis pre-aggregate refresh), with its rows/s and the ratio to the COPY;
3. the floor under any import into `incidents`: the imported rows written again, by one plain
   INSERT … SELECT, into an empty copy of `incidents` with the same indexes (no checks, no
   upsert, no refresh), and the same into a copy with no index and into one with only the
   primary key (what keeps a re-import from duplicating rows): the bounds of any design that
   stores checked rows in `incidents`;
4. the pre-aggregate refresh alone, recounting every imported incident from scratch, beside its
   floor: the refreshed rows written again, one INSERT … SELECT per table, into empty copies of
   the pre-aggregate tables with their indexes;
5. the same data again from a zip archive (every row updated, none added).
Target: the import at ≥ 1/3 of the bare COPY's rows/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

import asyncpg

from bench.police_uk_files import FORCES, HEADER, Written, write_folders, zip_folders
from bench.services import admin_sql, db_url
from qingzhi import aggregate
from qingzhi.config import load_settings
from qingzhi.db import migrate_url
from qingzhi.importer import import_incidents

DB_NAME = f"qz_bench_police_uk_{os.getpid()}"
TZ = "Europe/London"


async def bare_copy(files: tuple[Path, ...]) -> float:
    """Seconds to COPY every file into a scratch table of text columns (unlogged, like a staging table)."""
    conn = await asyncpg.connect(db_url(DB_NAME))
    try:
        await conn.execute(f"CREATE UNLOGGED TABLE scratch ({', '.join(f'c{i} text' for i in range(len(HEADER)))})")
        started = time.perf_counter()
        for path in files:
            await conn.copy_to_table("scratch", source=path, format="csv", header=True)
        took = time.perf_counter() - started
        await conn.execute("DROP TABLE scratch")
        return took
    finally:
        await conn.close()


# Empty copies of `incidents` the imported rows are written into: (label, how the copy is made).
FLOORS = (("its indexes", "CREATE TABLE floor (LIKE incidents INCLUDING ALL)"),
          ("no index", "CREATE TABLE floor (LIKE incidents INCLUDING DEFAULTS)"),
          ("only its primary key", "CREATE TABLE floor (LIKE incidents INCLUDING DEFAULTS); "
                                   "ALTER TABLE floor ADD PRIMARY KEY (id)"))


async def copy_seconds(tables: list[tuple[str, str]]) -> float:
    """Seconds to write every (source table, DDL creating an empty `floor` copy of it) by one INSERT … SELECT each."""
    conn = await asyncpg.connect(db_url(DB_NAME))
    try:
        took = 0.0
        for source, create in tables:
            await conn.execute(create)
            started = time.perf_counter()
            await conn.execute(f"INSERT INTO floor SELECT * FROM {source}")
            took += time.perf_counter() - started
            await conn.execute("DROP TABLE floor")
        return took
    finally:
        await conn.close()


def refresh_floor() -> float:
    """Seconds to write the pre-aggregates' rows into empty copies of their tables with their indexes."""
    return asyncio.run(copy_seconds([(t, f"CREATE TABLE floor (LIKE {t} INCLUDING ALL)")
                                     for t in aggregate.TABLES.split(", ")]))


async def refresh_from_scratch() -> tuple[int, float]:
    """(incidents, seconds) to rebuild every pre-aggregate from the imported incidents."""
    conn = await asyncpg.connect(db_url(DB_NAME))
    try:
        await conn.execute(f"TRUNCATE {aggregate.TABLES}")
        await conn.execute("INSERT INTO an_dirty (id) SELECT id FROM incidents")
        started = time.perf_counter()
        done = await aggregate.refresh(conn, TZ)
        return done, time.perf_counter() - started
    finally:
        await conn.close()


def timed_import(path: Path, settings: object) -> tuple[object, float]:
    """(summary, seconds) of one `qingzhi import incidents --format police-uk PATH` (its output hidden)."""
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        summary = import_incidents(settings, [path], fmt="police-uk", report=path.parent / "bad.csv")
    return summary, time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in all files (default 1,000,000)")
    ap.add_argument("--months", type=int, default=12)
    args = ap.parse_args(argv)
    per_file = max(1, args.rows // (args.months * len(FORCES)))
    months = [f"{2019 + m // 12}-{m % 12 + 1:02d}" for m in range(args.months)]
    with tempfile.TemporaryDirectory(prefix="qz-police-uk-") as tmp:
        root = Path(tmp) / "data"
        started = time.perf_counter()
        written: Written = write_folders(root, months, FORCES, per_file)
        archive = zip_folders(root, Path(tmp) / "police-uk.zip")
        mb = sum(p.stat().st_size for p in written.files) / 1e6
        print(f"wrote {written.rows:,} rows in {len(written.files)} files ({mb:.0f} MB) and a zip of them "
              f"in {time.perf_counter() - started:.1f} s")
        admin_sql(f"CREATE DATABASE {DB_NAME}")
        try:
            asyncio.run(migrate_url(db_url(DB_NAME)))
            copy_s = asyncio.run(bare_copy(written.files))
            settings = load_settings(database_url=db_url(DB_NAME), timezone=TZ)
            summary, import_s = timed_import(root, settings)
            assert summary.inserted == written.incidents, (summary, written)
            assert summary.bad == written.no_location and summary.repeated == written.repeated, summary
            floor_s, *bounds_s = (asyncio.run(copy_seconds([("incidents", create)])) for _, create in FLOORS)
            done, refresh_s = asyncio.run(refresh_from_scratch())
            refresh_floor_s = refresh_floor()
            again, zip_s = timed_import(archive, settings)
            assert (again.inserted, again.updated, again.unchanged) == (0, 0, written.incidents), again
        finally:
            admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    copy_rate, import_rate = written.rows / copy_s, written.rows / import_s
    print(f"bare COPY into a scratch table: {copy_s:.1f} s, {copy_rate:,.0f} rows/s")
    print(f"qingzhi import (folder, {summary.inserted:,} new incidents, refresh included): {import_s:.1f} s, "
          f"{import_rate:,.0f} rows/s = {import_rate / copy_rate:.2f} × the bare COPY (target ≥ 0.33)")
    print(f"floor: the same {summary.inserted:,} rows by one INSERT into an empty copy of incidents with its "
          f"indexes: {floor_s:.1f} s = {written.rows / floor_s / copy_rate:.2f} × the bare COPY's rows/s; "
          f"the import takes {import_s / floor_s:.1f} × this floor")
    for (label, _), took in zip(FLOORS[1:], bounds_s, strict=True):
        print(f"  the same into a copy with {label}: {took:.1f} s = {written.rows / took / copy_rate:.2f} × the bare COPY")
    print(f"pre-aggregate refresh of {done:,} incidents from scratch: {refresh_s:.1f} s; its floor (the refreshed "
          f"rows written into empty copies of the pre-aggregate tables with their indexes): {refresh_floor_s:.1f} s, "
          f"the refresh takes {refresh_s / refresh_floor_s:.1f} × it")
    print(f"the same again from the zip ({again.unchanged:,} already present unchanged): {zip_s:.1f} s, "
          f"{written.rows / zip_s:,.0f} rows/s = {written.rows / zip_s / copy_rate:.2f} × the bare COPY")


if __name__ == "__main__":
    main()
