"""`qingzhi status`: one line per ingest process from its ingest_stats row."""

from __future__ import annotations

import asyncio
import json

import click

from ingest import store
from qingzhi.config import Settings
from qingzhi.db import connect

COLUMNS = ("instance", "up since", "msgs/s", "avg batch", "messages", "rejects", "lag", "db", "broker", "updated")


async def read_rows(url: str) -> list[dict]:
    """Every ingest process's figures as dicts (what `qingzhi status --json` prints for it)."""
    conn = await connect(url)
    try:
        records = await store.read_stats(conn)
    finally:
        await conn.close()
    out = []
    for r in records:
        stats = json.loads(r["stats"]) if isinstance(r["stats"], str) else dict(r["stats"])
        out.append({"instance": r["instance"], "started_at": r["started_at"].isoformat(),
                    "updated_at": r["updated_at"].isoformat(), "age_s": round(float(r["age_s"]), 1), **stats})
    return out


def _cells(row: dict) -> tuple[str, ...]:
    lag = "-" if row.get("lag_s") is None else f"{row['lag_s']} s"
    return (row["instance"], row["started_at"][:19].replace("T", " "), f"{row.get('msgs_per_s', 0):g}",
            f"{row.get('avg_batch', 0):g}", str(row.get("messages", 0)), str(row.get("rejects", 0)), lag,
            str(row.get("db", "?")), str(row.get("broker", "?")), f"{row['age_s']:g} s ago")


def show(settings: Settings, as_json: bool = False) -> None:
    """Print every ingest process's figures (a table, or JSON)."""
    rows = asyncio.run(read_rows(settings.database_url))
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("no ingest process has reported yet")
        return
    table = [COLUMNS] + [_cells(r) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
