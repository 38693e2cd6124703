"""The append-only dispatch audit log: write an entry, list entries, and the `qingzhi audit` command.

The database itself refuses UPDATE, DELETE and TRUNCATE on audit_log (migration 0400).
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from qingzhi.config import Settings
from qingzhi.db import connect

COLUMNS = ("id", "ts", "actor", "action", "incident", "unit", "screen", "details")


async def record(
    conn: asyncpg.Connection,
    *,
    actor: str,
    action: str,
    incident: str | None = None,
    unit: str | None = None,
    screen: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Append one entry; returns its id. Call it inside the transaction of the action it records."""
    return await conn.fetchval(
        """INSERT INTO audit_log (actor, action, incident, unit, screen, details)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING id""",
        actor, action, incident, unit, screen, json.dumps(details, ensure_ascii=False) if details else None,
    )


async def entries(conn: asyncpg.Connection, *, limit: int = 100, incident: str | None = None) -> list[dict[str, Any]]:
    """The newest entries first (of one incident, if given)."""
    rows = await conn.fetch(
        f"""SELECT {', '.join(COLUMNS)} FROM audit_log
            WHERE $2::text IS NULL OR incident = $2
            ORDER BY id DESC LIMIT $1""",
        limit, incident,
    )
    return [{**dict(r), "details": json.loads(r["details"]) if r["details"] else None} for r in rows]


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


async def _fetch(url: str, limit: int) -> list[dict[str, Any]]:
    conn = await connect(url)
    try:
        return await entries(conn, limit=limit)
    finally:
        await conn.close()


def show(settings: Settings, *, limit: int, export: Path | None) -> None:
    """`qingzhi audit`: print the newest entries, or write them (oldest first) as CSV to `export`."""
    tz = ZoneInfo(settings.timezone)
    rows = [_row(e, tz) for e in asyncio.run(_fetch(settings.database_url, limit))]
    if export is not None:
        with export.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            writer.writerows(reversed(rows))
        print(f"wrote {len(rows)} audit entries to {export}")
        return
    if not rows:
        print("audit log is empty")
        return
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS[:-1])]
    out = sys.stdout
    out.write("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths)) + "\n")
    for r in rows:
        out.write("  ".join(v.ljust(w) for v, w in zip(r[:-1], widths)) + "  " + r[-1] + "\n")
