"""`qingzhi import incidents`: load incidents from a CSV file (generic columns or police.uk).

Each row is parsed and checked by small named rules; a bad row is skipped, printed with its line
number and reason, and written to the report CSV with the original columns. Good rows are
upserted on `id` in batches, one transaction each, so importing a file twice changes nothing the
second time. If the database fails mid-file, the summary says exactly how far the import got
(re-running finishes it). The rows are read by import_rows.py.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import click

from qingzhi import aggregate
from qingzhi.config import Settings
from qingzhi.db import connect
from qingzhi.core.stations import StationLocator
from qingzhi.errors import QingzhiError
from qingzhi.import_rows import RowError, RowParser

BATCH_ROWS = 2000
SHOW_ERRORS = 20  # bad rows printed on the terminal; all of them go to the report
INCIDENT_COLUMNS = ("id", "ts", "occurred_from", "occurred_to", "lat", "lon", "type", "category", "priority",
                    "address", "caller_hash", "summary", "station", "extra")


@dataclass
class Summary:
    """What an import did."""

    rows: int = 0
    inserted: int = 0
    updated: int = 0
    bad: int = 0
    repeated: int = 0  # rows whose id appeared earlier in the same file (the later row wins)
    report: Path | None = None
    reasons: dict[str, int] = field(default_factory=dict)


def import_incidents(settings: Settings, path: Path, *, fmt: str, mapping: tuple[str, ...] = (),
                     report: Path | None = None) -> Summary:
    """Import the CSV file at `path`; print progress, bad rows and a summary; return the summary."""
    return asyncio.run(_import(settings, Path(path), fmt, mapping, report))


async def _import(settings: Settings, path: Path, fmt: str, mapping: tuple[str, ...], report: Path | None) -> Summary:
    conn = await connect(settings.database_url)
    try:
        stations = StationLocator.from_rows(await conn.fetch("SELECT id, lat, lon, boundary FROM stations"))
        parser = RowParser(fmt, settings, stations, mapping)
        summary = Summary(report=report or path.with_name(f"{path.stem}.bad-rows.csv"))
        await _run(conn, path, parser, summary)
        await aggregate.refresh(conn, settings.timezone)
    finally:
        await conn.close()
    _print_summary(summary)
    return summary


def _open_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header and an iterator of (line number, row); a clear error for unreadable files."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
    except UnicodeDecodeError as exc:
        raise QingzhiError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    if not header:
        raise QingzhiError(f"{path}: empty file, no header row")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with handle:
            for row in reader:
                yield reader.line_num, row

    return header, rows()


async def _run(conn: asyncpg.Connection, path: Path, parser: RowParser, summary: Summary) -> None:
    header, rows = _open_rows(path)
    parser.bind(header, path)
    total = sum(1 for _ in _open_rows(path)[1])
    batch: dict[str, tuple] = {}
    bad_out: Any = None
    bad_handle = None
    last_line = 0
    try:
        with click.progressbar(length=total, label=f"importing {path.name}", file=click.get_text_stream("stderr"),
                               show_pos=True) as bar:
            for line, row in rows:
                summary.rows += 1
                bar.update(1)
                try:
                    record = parser.parse(row)
                except RowError as exc:
                    if bad_out is None:
                        bad_handle = summary.report.open("w", newline="", encoding="utf-8")
                        bad_out = csv.writer(bad_handle)
                        bad_out.writerow(["line", "reason", *header])
                    _bad(summary, line, str(exc), row, header, bad_out)
                    continue
                if record[0] in batch:
                    summary.repeated += 1
                batch[record[0]] = record
                if len(batch) >= BATCH_ROWS:
                    await _commit(conn, batch, summary, last_line)
                    last_line, batch = line, {}
            if batch:
                await _commit(conn, batch, summary, last_line)
    finally:
        if bad_handle:
            bad_handle.close()
    if not bad_out:
        summary.report = None


def _bad(summary: Summary, line: int, reason: str, row: dict[str, str], header: list[str], out: Any) -> None:
    summary.bad += 1
    key = reason.split(":")[0]
    summary.reasons[key] = summary.reasons.get(key, 0) + 1
    out.writerow([line, reason, *(row.get(h, "") for h in header)])
    if summary.bad <= SHOW_ERRORS:
        click.echo(f"\nline {line}: {reason}", err=True)


async def _commit(conn: asyncpg.Connection, batch: dict[str, tuple], summary: Summary, last_line: int) -> None:
    """Upsert one batch in one transaction; on failure say exactly what is already in (rows up to `last_line`)."""
    cols = ", ".join(INCIDENT_COLUMNS)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in INCIDENT_COLUMNS[1:])
    sql = f"""INSERT INTO incidents ({cols}, source)
              SELECT *, 'import' FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[],
                  $5::float8[], $6::float8[], $7::text[], $8::text[], $9::int2[], $10::text[], $11::text[],
                  $12::text[], $13::text[], $14::jsonb[])
              ON CONFLICT (id) DO UPDATE SET {sets}, updated_at = now()
              RETURNING (xmax = 0) AS inserted"""
    columns = [list(c) for c in zip(*batch.values(), strict=True)]
    try:
        async with conn.transaction():
            result = await conn.fetch(sql, *columns)
    except (asyncpg.PostgresError, OSError) as exc:
        done = summary.inserted + summary.updated
        raise QingzhiError(
            f"database error while importing the rows after line {last_line}: {exc}. "
            f"{done} rows up to line {last_line} are imported; the rest are not. "
            "Importing the file again is safe: rows already in are updated, not duplicated.") from None
    new = sum(1 for r in result if r["inserted"])
    summary.inserted += new
    summary.updated += len(result) - new


def _print_summary(s: Summary) -> None:
    click.echo(f"{s.rows} rows read: {s.inserted} imported, {s.updated} updated (already present), {s.bad} bad")
    if s.repeated:
        click.echo(f"{s.repeated} rows repeated an id seen earlier in the file; the later row was kept")
    if s.bad:
        reasons = ", ".join(f"{k} ×{n}" for k, n in sorted(s.reasons.items(), key=lambda kv: -kv[1]))
        click.echo(f"bad rows skipped ({reasons}); each with its line and reason in {s.report}")
