"""`qingzhi import incidents PATH…`: load incidents from CSV files, folders and zip archives.

police.uk files go through import_police_uk (COPY, set-based checks, one transaction). Generic
files are read row by row: each row is parsed and checked by small named rules (import_rows.py);
a bad row is skipped, printed with its file, line number and reason, and written to the one
report CSV with the original columns. Good rows are upserted on `id` in batches, one transaction
each, so importing a file twice changes nothing the second time (rows present with the same values
are left alone); if the database fails mid-run, the summary says exactly how far the import got
(re-running finishes it). Either way the analysis pre-aggregates are refreshed at the end
(aggregate.py, set-based).
"""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import click

from qingzhi import aggregate, import_police_uk
from qingzhi.config import Settings
from qingzhi.db import analyze_after_bulk, connect
from qingzhi.core.stations import StationLocator
from qingzhi.errors import QingzhiError
from qingzhi.import_report import BadRows, Summary, check_writable, files
from qingzhi.import_rows import INSERTED_COLUMNS, INSERTED_VALUES, ON_CONFLICT, RowError, RowParser
from qingzhi.import_sources import Source, expand

BATCH_ROWS = 2000


def import_incidents(settings: Settings, paths: Path | Sequence[Path], *, fmt: str, mapping: tuple[str, ...] = (),
                     report: Path | None = None) -> Summary:
    """Import the CSV files, folders and zip archives at `paths`; print progress, bad rows and a summary."""
    paths = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not paths:
        raise QingzhiError("no files to import")
    return asyncio.run(_import(settings, paths, fmt, mapping, report))


async def _import(settings: Settings, paths: list[Path], fmt: str, mapping: tuple[str, ...],
                  report: Path | None) -> Summary:
    sources = expand(paths)
    if fmt not in ("generic", "police-uk"):
        raise QingzhiError(f"unknown format {fmt!r}: use generic or police-uk")
    conn = await connect(settings.database_url)
    try:
        stations = StationLocator.from_rows(await conn.fetch("SELECT id, lat, lon, boundary FROM stations"))
        first = paths[0].resolve()  # "." has no name of its own
        summary = Summary(report=report or first.with_name(f"{first.stem or first.name}.bad-rows.csv"))
        check_writable(summary.report)
        if fmt == "police-uk":
            await import_police_uk.import_files(conn, sources, tz=ZoneInfo(settings.timezone), stations=stations,
                                                summary=summary)
        else:
            parser = RowParser(settings, stations, mapping)
            await _run(conn, sources, parser, summary)
        await analyze_after_bulk(conn, ["incidents"], summary.inserted + summary.updated)
        await aggregate.refresh(conn, settings.timezone)
    finally:
        await conn.close()
    summary.print()
    return summary


def _open_rows(source: Source) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header and an iterator of (line number, row); a clear error for unreadable files."""
    try:
        handle = io.TextIOWrapper(source.open(), encoding="utf-8-sig", newline="")
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
    except UnicodeDecodeError as exc:
        raise QingzhiError(f"{source.name}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    if not header:
        raise QingzhiError(f"{source.name}: empty file, no header row")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with handle:
            try:
                for row in reader:
                    yield reader.line_num, row
            except UnicodeDecodeError as exc:
                raise QingzhiError(f"{source.name}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None

    return header, rows()


async def _run(conn: asyncpg.Connection, sources: list[Source], parser: RowParser, summary: Summary) -> None:
    """The generic format, row by row: every header is checked before anything is written, one progress bar."""
    headers = [_open_rows(s)[0] for s in sources]
    for source, header in zip(sources, headers, strict=True):
        parser.bind(header, Path(source.name))
    columns = list(dict.fromkeys(h for header in headers for h in header))
    total = sum(1 for s in sources for _ in _open_rows(s)[1])
    bad = BadRows(summary, columns)
    batch: dict[str, tuple] = {}
    done_up_to = "nothing"
    try:
        with click.progressbar(length=total, label=f"importing {files(len(sources))}",
                               file=sys.stderr, show_pos=True) as bar:
            for source, header in zip(sources, headers, strict=True):
                parser.bind(header, Path(source.name))
                summary.files += 1
                for line, row in _open_rows(source)[1]:
                    summary.rows += 1
                    bar.update(1)
                    try:
                        record = parser.parse(row)
                    except RowError as exc:
                        bad.add(source.name, line, str(exc), [row.get(h, "") for h in columns])
                        continue
                    if record[0] in batch:
                        summary.repeated += 1
                    batch[record[0]] = record
                    if len(batch) >= BATCH_ROWS:
                        await _commit(conn, batch, summary, done_up_to)
                        done_up_to, batch = f"{source.name} line {line}", {}
            if batch:
                await _commit(conn, batch, summary, done_up_to)
    finally:
        bad.close()


async def _commit(conn: asyncpg.Connection, batch: dict[str, tuple], summary: Summary, done_up_to: str) -> None:
    """Upsert one batch in one transaction; on failure say exactly what is already in (rows up to `done_up_to`)."""
    sql = f"""INSERT INTO incidents ({INSERTED_COLUMNS})
              SELECT *, {INSERTED_VALUES} FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[],
                  $5::float8[], $6::float8[], $7::text[], $8::text[], $9::int2[], $10::text[], $11::text[],
                  $12::text[], $13::text[], $14::jsonb[])
              {ON_CONFLICT}
              RETURNING (xmax = 0) AS inserted"""
    columns = [list(c) for c in zip(*batch.values(), strict=True)]
    try:
        async with conn.transaction():
            result = await conn.fetch(sql, *columns)
    except (asyncpg.PostgresError, OSError) as exc:
        done = summary.inserted + summary.updated + summary.unchanged
        raise QingzhiError(
            f"database error while importing the rows after {done_up_to}: {exc}. "
            f"{done} rows up to {done_up_to} are imported; the rest are not. "
            "Importing the files again is safe: rows already in are updated, not duplicated.") from None
    new = sum(1 for r in result if r["inserted"])
    summary.inserted += new
    summary.updated += len(result) - new
    summary.unchanged += len(batch) - len(result)
