"""`qingzhi audit`: the audit log as a table on the terminal, or exported as CSV."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from qingzhi.config import Settings
from qingzhi.core import audit
from qingzhi.core.audit import COLUMNS, ROWS_MAX, entries
from qingzhi.db import connect
from qingzhi.core.safe_output import csv_cell
from qingzhi.errors import QingzhiError
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


async def _fetch(url: str, limit: int, exporting: bool) -> list[dict[str, Any]]:
    """The newest entries; an export is itself audited (as on the page), by the person at the terminal."""
    conn = await connect(url)
    try:
        rows = await entries(conn, limit=limit)
        if exporting:
            await audit.export(cli_actor(), conn, "audit", len(rows), {"limit": limit})
        return rows
    finally:
        await conn.close()


LISTED = 100  # entries printed when no --limit is given (an export takes as many as one read returns)


def show(settings: Settings, *, limit: int | None, export: Path | None) -> None:
    """Print the newest entries, or write them (oldest first) as CSV to `export`."""
    tz = ZoneInfo(settings.timezone)
    limit = limit or (ROWS_MAX if export is not None else LISTED)
    rows = [_row(e, tz) for e in asyncio.run(_fetch(settings.database_url, limit, export is not None))]
    if export is not None:
        try:
            with export.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(COLUMNS)
                writer.writerows([csv_cell(v) for v in row] for row in reversed(rows))
        except OSError as exc:
            raise QingzhiError(f"cannot write {export}: {exc.strerror or exc}") from None
        cut = f" (the newest {limit:,}: older entries, if any, are not in it)" if len(rows) == limit else ""
        print(f"wrote {len(rows)} audit entries to {export}{cut}")
        return
    if not rows:
        print("audit log is empty")
        return
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS[:-1])]
    out = sys.stdout
    out.write("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)) + "\n")
    for r in rows:
        out.write("  ".join(v.ljust(w) for v, w in zip(r[:-1], widths)) + "  " + r[-1] + "\n")
