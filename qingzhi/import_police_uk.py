"""police.uk street-level files imported set-based: COPY into a staging table, check distinct values, one upsert.

Per-row Python (csv parsing, the checks, batched upserts) managed about 15,000 rows/s, so a
million-row year took over a minute. Here PostgreSQL parses the CSV (COPY into a temporary
staging table), and Python sees only the distinct values the rules need: the months, the crime
types and the map points (police.uk snaps crimes to a limited set of anonymised points). Each is
checked once, by the same rules as every other source (import_rows, core.incidents, the
stations' jurisdictions), and goes back as a small lookup table. One query lists the bad rows with
their reason; one INSERT … SELECT … ON CONFLICT writes the rest. A file COPY cannot read (cells
not matching the header, a header with other columns) is read by Python's csv module instead
and fed to the same staging table, so its odd rows are reported one by one.

The whole run is one transaction: if anything fails nothing is written, and running it again is
safe (rows already present are updated, not duplicated).
"""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from collections.abc import AsyncIterator, Callable
from zoneinfo import ZoneInfo

import asyncpg
import click

from qingzhi.core.incidents import IncidentError, category_of, normalise_type
from qingzhi.core.stations import StationLocator
from qingzhi.errors import QingzhiError
from qingzhi.import_report import BadRows, Summary, files
from qingzhi.import_rows import (INSERTED_COLUMNS, INSERTED_VALUES, ON_CONFLICT, POLICE_UK_COLUMNS,
                                 POLICE_UK_EXTRA, RowError, compared, coordinates, police_month, police_type)
from qingzhi.import_sources import Source

# police.uk's columns, in the order data.police.uk writes them, and their staging column names.
COLUMNS = {"Crime ID": "crime_id", "Month": "month", "Reported by": "reported_by", "Falls within": "falls_within",
           "Longitude": "longitude", "Latitude": "latitude", "Location": "location", "LSOA code": "lsoa_code",
           "LSOA name": "lsoa_name", "Crime type": "crime_type", "Last outcome category": "outcome",
           "Context": "context"}
CHUNK = 1 << 20
STAGING = f"""CREATE TEMP TABLE pu_raw ({', '.join(f'{c} text' for c in COLUMNS.values())},
                  file int NOT NULL, line int, ord bigint GENERATED ALWAYS AS IDENTITY) ON COMMIT DROP"""
_T = lambda c: f"coalesce(r.{c}, '')"  # noqa: E731 - COPY reads an empty cell as NULL
# Each row's reason to be refused (NULL: good), by the rules in the order RowParser applied them.
CHECKED = f"""
    FROM pu_raw r
    JOIN pu_month m ON m.month = {_T('month')}
    LEFT JOIN pu_point p ON p.longitude = {_T('longitude')} AND p.latitude = {_T('latitude')}
    JOIN pu_type t ON t.crime_type = {_T('crime_type')}
    CROSS JOIN LATERAL (SELECT CASE
        WHEN m.reason IS NOT NULL THEN m.reason
        WHEN btrim({_T('longitude')}) = '' THEN 'no location: ' || coalesce(nullif(r.location, ''), 'empty coordinates')
        WHEN p.reason IS NOT NULL THEN p.reason
        WHEN t.reason IS NOT NULL THEN t.reason END AS reason) why"""
# A row without a Crime ID (anti-social behaviour) gets an id from its content and how often the
# same content came before among the good rows of its file, so identical rows are all kept, and
# the same file read twice (a folder and a zip of it) or imported again gives the same ids.
_CONTENT = " || '|' || ".join(f"btrim({_T(COLUMNS[c])})" for c in
                              ("Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                               "LSOA code", "Crime type", "Context"))
_BLANK_ID = "btrim(coalesce(r.crime_id, '')) = ''"
# jsonb_object(keys[], values[]): a third of jsonb_build_object's time over a million rows
_EXTRA_KEYS = ", ".join(f"'{key}'" for key, _ in POLICE_UK_EXTRA)
_EXTRA_VALUES = ", ".join(f"nullif(r.{COLUMNS[col]}, '')" for _, col in POLICE_UK_EXTRA)
_EXTRA = f"jsonb_object(ARRAY[{_EXTRA_KEYS}], ARRAY[{_EXTRA_VALUES}])"
# Every row checked once, in one pass over pu_raw: its reason to be refused, or what it will be
# written as (the values looked up, and the content of a row without a Crime ID).
CHECKED_ROWS = f"""
    CREATE TEMP TABLE pu_checked ON COMMIT DROP AS
    SELECT r.ord, r.file, why.reason, CASE WHEN NOT {_BLANK_ID} THEN btrim(r.crime_id) END AS cid,
           CASE WHEN {_BLANK_ID} AND why.reason IS NULL THEN {_CONTENT} END AS content,
           m.start, m.finish, p.lat, p.lon, t.type, t.category, nullif(r.location, '') AS address, p.station,
           CASE WHEN why.reason IS NULL THEN {_EXTRA} END AS extra
    {CHECKED}"""
# Only the rows without a Crime ID are sorted, and only by their content.
ANON_IDS = """
    CREATE TEMP TABLE pu_anon ON COMMIT DROP AS
    SELECT ord, 'pu-' || left(encode(sha256(convert_to(content || '|' ||
               (row_number() OVER (PARTITION BY file, content COLLATE "C" ORDER BY ord) - 1), 'UTF8')), 'hex'),
               24) AS id
    FROM pu_checked WHERE content IS NOT NULL"""
# An id on several good rows (police.uk repeats a crime with a later outcome; a file read twice):
# the last row wins. Found by hashing the ids (no sort of a million rows); only the few repeated
# ones are looked at.
REPEATED = """
    CREATE TEMP TABLE pu_dropped ON COMMIT DROP AS
    SELECT ord FROM (
        SELECT ord, row_number() OVER (PARTITION BY cid ORDER BY ord DESC) AS k FROM pu_checked
        WHERE cid IN (SELECT cid FROM pu_checked WHERE reason IS NULL GROUP BY cid HAVING count(*) > 1)
          AND reason IS NULL
        UNION ALL
        SELECT ord, row_number() OVER (PARTITION BY id ORDER BY ord DESC)
        FROM pu_anon WHERE id IN (SELECT id FROM pu_anon GROUP BY id HAVING count(*) > 1)) d
    WHERE k > 1"""
# The run's rows as they will be written, materialised and analysed so that the planner knows how
# many there are: then it finds the rows already present unchanged by one hash anti-join on
# `incidents` for a large run, by the primary key for a small one.
ROWS = """
    CREATE TEMP TABLE pu_rows ON COMMIT DROP AS
    SELECT coalesce(a.id, c.cid) AS id, c.start AS ts, c.start AS occurred_from, c.finish AS occurred_to,
           c.lat, c.lon, c.type, c.category, 3::smallint AS priority, c.address,
           NULL::text AS caller_hash, NULL::text AS summary, c.station, c.extra
    FROM pu_checked c LEFT JOIN pu_anon a ON a.ord = c.ord
    WHERE c.reason IS NULL AND NOT EXISTS (SELECT 1 FROM pu_dropped d WHERE d.ord = c.ord)"""
# A row already present with the same values is left alone: rewriting it would add a row version
# and an entry in every index of `incidents` for nothing (a re-import of the same year: 40 s of 48).
# Leaving it to ON CONFLICT's own filter (which catches a row written by someone else meanwhile)
# probes and locks each conflicting row: still 21 s, so such rows are dropped before the insert.
UPSERT = f"""
    WITH written AS (
        INSERT INTO incidents ({INSERTED_COLUMNS})
        SELECT s.*, {INSERTED_VALUES} FROM pu_rows s
        WHERE NOT EXISTS (SELECT 1 FROM incidents x WHERE x.id = s.id AND {compared('x')} IS NOT DISTINCT FROM {compared('s')})
        {ON_CONFLICT}
        RETURNING (xmax = 0) AS inserted)
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"""


async def import_files(conn: asyncpg.Connection, sources: list[Source], *, tz: ZoneInfo, stations: StationLocator,
                       summary: Summary) -> None:
    """Import every police.uk file of `sources` in one transaction, counting into `summary`."""
    headers = [_header(s) for s in sources]
    bad = BadRows(summary, list(COLUMNS))
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL work_mem = '256MB'")  # hashing a million ids, sorting the ASB rows: in memory
            await conn.execute("SET LOCAL synchronous_commit = off")  # re-runnable: commit without waiting for disk
            await conn.execute(STAGING)
            with click.progressbar(length=sum(s.size for s in sources), label=f"importing {files(len(sources))}",
                                   file=sys.stderr, show_pos=True) as bar:
                for k, (source, header) in enumerate(zip(sources, headers, strict=True)):
                    await _stage(conn, k, source, header, bar.update, bad)
            await conn.execute("ANALYZE pu_raw")  # temporary tables have no statistics: the joins need them
            summary.files = len(sources)
            summary.rows = await conn.fetchval("SELECT count(*) FROM pu_raw") + summary.bad
            click.echo(f"checking and writing {summary.rows:,} rows…", err=True)
            await _lookups(conn, tz, stations)
            for step in (CHECKED_ROWS, "ANALYZE pu_checked", ANON_IDS, REPEATED, "ANALYZE pu_anon", ROWS,
                         "ANALYZE pu_rows"):
                await conn.execute(step)
            await _report_bad(conn, sources, bad)
            summary.inserted, summary.updated = await conn.fetchrow(UPSERT)
            summary.repeated = await conn.fetchval("SELECT count(*) FROM pu_dropped")
    except (asyncpg.PostgresError, OSError) as exc:
        raise QingzhiError(f"database error while importing: {exc}. Nothing was imported; "
                           "importing the files again is safe.") from None
    finally:
        bad.close()
    # Every good row not dropped as a repeat was inserted, updated, or already present unchanged.
    summary.unchanged = summary.rows - summary.bad - summary.repeated - summary.inserted - summary.updated


def _header(source: Source) -> list[str]:
    """The file's header row; a whole-run error, before anything is written, if it is not a police.uk file."""
    with source.open() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            header = next(csv.reader(text), [])
        except UnicodeDecodeError as exc:
            raise QingzhiError(f"{source.name}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    missing = [c for c in POLICE_UK_COLUMNS if c not in header]
    if missing:
        raise QingzhiError(f"{source.name}: not a police.uk street-level file, missing columns {missing}")
    return header


async def _stage(conn: asyncpg.Connection, k: int, source: Source, header: list[str],
                 progress: Callable[[int], None], bad: BadRows) -> None:
    """Load one file into pu_raw: by COPY when PostgreSQL can parse it, else row by row with Python's csv."""
    if len(set(header)) == len(header) and set(header) <= COLUMNS.keys():
        await conn.execute(f"ALTER TABLE pu_raw ALTER file SET DEFAULT {k}")
        done = 0

        async def chunks() -> AsyncIterator[bytes]:
            nonlocal done
            with source.open() as raw:
                while chunk := await asyncio.to_thread(raw.read, CHUNK):
                    done += len(chunk)
                    progress(len(chunk))
                    yield chunk
        try:
            async with conn.transaction():  # a savepoint: a failed COPY leaves nothing behind
                await conn.copy_to_table("pu_raw", source=chunks(), columns=[COLUMNS[h] for h in header],
                                         format="csv", header=True, encoding="utf-8")
            return
        except (asyncpg.DataError, asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError):
            progress(-done)
    await _stage_rows(conn, k, source, header, progress, bad)


async def _stage_rows(conn: asyncpg.Connection, k: int, source: Source, header: list[str],
                      progress: Callable[[int], None], bad: BadRows) -> None:
    """Load one file into pu_raw through Python's csv: rows whose cells do not match the header are bad."""
    known = [(i, COLUMNS[h]) for i, h in enumerate(header) if h in COLUMNS]
    where = {h: i for i, h in enumerate(header)}
    records = []
    with source.open() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        try:
            next(reader)
            for cells in reader:
                line = reader.line_num
                if len(cells) != len(header):
                    what = "more" if len(cells) > len(header) else "fewer"
                    bad.add(source.name, line, f"extra cells: the row has {what} cells than the header",
                            [cells[where[h]] if where.get(h, len(cells)) < len(cells) else "" for h in COLUMNS])
                    continue
                records.append((*(cells[i] for i, _ in known), k, line))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise QingzhiError(f"{source.name}: cannot be read as CSV text ({exc}); save it as UTF-8 CSV") from None
    await conn.copy_records_to_table("pu_raw", records=records, columns=[c for _, c in known] + ["file", "line"])
    progress(source.size)


async def _lookups(conn: asyncpg.Connection, tz: ZoneInfo, stations: StationLocator) -> None:
    """The distinct months, crime types and map points, each checked once, as tables pu_month, pu_type, pu_point."""
    months = [r[0] for r in await conn.fetch("SELECT DISTINCT coalesce(month, '') FROM pu_raw")]
    await _table(conn, "pu_month", "month text, start timestamptz, finish timestamptz, reason text",
                 [(m, *_checked(lambda m=m: police_month(m, tz), 2)) for m in months])
    crimes = [r[0] for r in await conn.fetch("SELECT DISTINCT coalesce(crime_type, '') FROM pu_raw")]
    await _table(conn, "pu_type", "crime_type text, type text, category text, reason text",
                 [(c, *_checked(lambda c=c: _type(c), 2)) for c in crimes])
    points = await conn.fetch("""SELECT DISTINCT coalesce(longitude, ''), coalesce(latitude, '') FROM pu_raw
                                 WHERE btrim(coalesce(longitude, '')) <> ''""")
    checked = [_checked(lambda p=p: coordinates(p[1], p[0]), 2) for p in points]
    good = [i for i, c in enumerate(checked) if c[-1] is None]
    places = stations.locate_many([checked[i][0] for i in good], [checked[i][1] for i in good])
    station = dict(zip(good, places, strict=True))
    await _table(conn, "pu_point", "longitude text, latitude text, lat float8, lon float8, station text, reason text",
                 [(p[0], p[1], c[0], c[1], station.get(i), c[2]) for i, (p, c) in enumerate(zip(points, checked,
                                                                                               strict=True))])


def _type(crime: str) -> tuple[str, str]:
    """(type, category) of a police.uk crime type, by the core's rules."""
    type_ = normalise_type(police_type(crime))
    return type_, category_of(type_)


def _checked(rule: Callable[[], tuple], width: int) -> tuple:
    """The rule's values and None, or `width` Nones and the reason it refused."""
    try:
        return (*rule(), None)
    except (RowError, IncidentError) as exc:
        return (*([None] * width), str(exc))


async def _table(conn: asyncpg.Connection, name: str, columns: str, records: list[tuple]) -> None:
    await conn.execute(f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP")
    await conn.copy_records_to_table(name, records=records)
    await conn.execute(f"ANALYZE {name}")


async def _report_bad(conn: asyncpg.Connection, sources: list[Source], bad: BadRows) -> None:
    """Every refused row, with its file, line (the header is line 1) and reason, into the report."""
    rows = await conn.fetch(f"""
        WITH first AS (SELECT file, min(ord) AS ord FROM pu_raw GROUP BY file)
        SELECT r.file, coalesce(r.line, r.ord - f.ord + 2) AS line, c.reason, {', '.join(f'r.{c}' for c in COLUMNS.values())}
        FROM pu_checked c JOIN pu_raw r ON r.ord = c.ord JOIN first f ON f.file = r.file
        WHERE c.reason IS NOT NULL ORDER BY r.ord""")
    for row in rows:
        bad.add(sources[row[0]].name, row[1], row[2], list(row)[3:])
