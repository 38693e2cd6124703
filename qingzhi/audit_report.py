"""`qingzhi audit`: the audit log as a table on the terminal, or exported as CSV."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import asyncpg

from qingzhi.config import Settings
from qingzhi.core import audit
from qingzhi.core.audit import COLUMNS
from qingzhi.db import connect
from qingzhi.core.safe_output import csv_cell
from qingzhi.core.times import parse_moment
from qingzhi.files import replacing
from qingzhi.user_admin import cli_actor


def _row(entry: dict[str, Any], tz: ZoneInfo) -> list[str]:
    """One entry as text cells, the time in the configured zone."""
    cells = []
    for col in COLUMNS:
        value = entry[col]
        if col == "ts":
            value = value.astimezone(tz).isoformat(timespec="seconds")
        elif col == "details" and value is not None:
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        cells.append("" if value is None else str(value))
    return cells


async def _newest(url: str, limit: int, since: dt.datetime | None, until: dt.datetime | None) -> list[dict]:
    conn = await connect(url)
    try:
        return await audit.search(conn, limit=limit, since=since, until=until)
    finally:
        await conn.close()


async def _export(url: str, out: TextIO, tz: ZoneInfo, limit: int | None, since: dt.datetime | None,
                  until: dt.datetime | None) -> int:
    """Write the entries (oldest first) as CSV rows: the newest `limit`, or every one, read a page at a time.
    The export is itself audited (as on the page), by the person at the terminal, with how many it took."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    conn = await connect(url)
    written = 0
    try:
        async for page in _pages(conn, limit, since, until):
            writer.writerows([csv_cell(v) for v in _row(e, tz)] for e in page)
            written += len(page)
        filters = {"limit": limit, "since": since and since.isoformat(), "until": until and until.isoformat()}
        await audit.export(cli_actor(), conn, "audit", written, filters)
    finally:
        await conn.close()
    return written


async def _pages(conn: asyncpg.Connection, limit: int | None, since: dt.datetime | None,
                 until: dt.datetime | None) -> AsyncIterator[list[dict[str, Any]]]:
    """The newest `limit` entries of the time range, or every one a page at a time; oldest first."""
    if limit:
        yield list(reversed(await audit.search(conn, limit=limit, since=since, until=until)))
        return
    async for page in audit.pages(conn, since=since, until=until):
        yield page


LISTED = 100  # entries printed when no --limit is given (an export takes every entry)


def show(settings: Settings, *, limit: int | None, export: Path | None, since: str | None = None,
         until: str | None = None) -> None:
    """Print the newest entries, or write them (oldest first) as CSV to `export`: all, or the newest `limit`."""
    tz = ZoneInfo(settings.timezone)
    start, end = (parse_moment(since, "--since", zone=settings.timezone),
                  parse_moment(until, "--until", zone=settings.timezone))
    if export is not None:
        with replacing(export, new_mode=0o600) as fh:  # who did what, where: for its owner's eyes
            written = asyncio.run(_export(settings.database_url, fh, tz, limit, start, end))
        cut = f" (the newest {limit:,}: older entries, if any, are not in it)" if limit and written == limit else ""
        print(f"wrote {written} audit entries to {export}{cut}")
        return
    rows = [_row(e, tz) for e in asyncio.run(_newest(settings.database_url, limit or LISTED, start, end))]
    if not rows:
        print("audit log is empty" if not (start or end) else "no audit entries in that time")
        return
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS[:-1])]
    out = sys.stdout
    out.write("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)) + "\n")
    for r in rows:
        out.write("  ".join(v.ljust(w) for v, w in zip(r[:-1], widths)) + "  " + r[-1] + "\n")
