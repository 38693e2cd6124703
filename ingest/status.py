"""`qingzhi status`: one line per ingest process from its ingest_stats row.

Honest under failure: a database that does not answer is reported within the health timeout
(instead of hanging), and a row its ingest has stopped refreshing (the process hung, died
without a goodbye, or cannot reach the database) is flagged stale rather than shown as current.
"""

from __future__ import annotations

import asyncio
import json

import click

from ingest import store
from qingzhi.config import Settings
from qingzhi.db import read_within

COLUMNS = ("instance", "up since", "msgs/s", "avg batch", "messages", "rejects", "lag", "db", "broker", "queues",
           "updated")
STALE_AFTER_INTERVALS = 3   # missed this many stats intervals: stale
DEFAULT_INTERVAL_S = 10.0   # rows saved before the interval was recorded in them


async def read_rows(url: str, timeout_s: float) -> list[dict]:
    """Every ingest process's figures as dicts (what `qingzhi status --json` prints for it);
    NotAnswering if the database is silent for timeout_s."""
    records = await read_within(url, timeout_s, store.read_stats)
    out = []
    for r in records:
        stats = json.loads(r["stats"]) if isinstance(r["stats"], str) else dict(r["stats"])
        out.append({"instance": r["instance"], "started_at": r["started_at"].isoformat(),
                    "updated_at": r["updated_at"].isoformat(), "age_s": round(float(r["age_s"]), 1), **stats})
        out[-1]["stale"] = is_stale(out[-1])
    return out


def is_stale(row: dict) -> bool:
    """True when a running ingest has missed STALE_AFTER_INTERVALS of its stats intervals (a stopped one said goodbye)."""
    interval = float(row.get("interval_s") or DEFAULT_INTERVAL_S)
    return row.get("broker") != "stopped" and row["age_s"] > STALE_AFTER_INTERVALS * interval


def _cells(row: dict) -> tuple[str, ...]:
    lag = "-" if row.get("lag_s") is None else f"{row['lag_s']} s"
    return (row["instance"], row["started_at"][:19].replace("T", " "), f"{row.get('msgs_per_s', 0):g}",
            f"{row.get('avg_batch', 0):g}", str(row.get("messages", 0)), str(row.get("rejects", 0)), lag,
            str(row.get("db", "?")), str(row.get("broker", "?")), queues_cell(row),
            f"{row['age_s']:g} s ago" + (" STALE" if row["stale"] else ""))


def queues_cell(row: dict) -> str:
    """An AMQP worker's queues: `name*:ready` (* = it takes that queue now; ready = messages waiting), its node."""
    queues = row.get("queues")
    if not queues:
        return "-" if row.get("source") != "amqp" else f"none ({row.get('node', '-')})"
    cells = [f"{name.rsplit('.', 1)[-1]}{'*' if q['taking'] else ''}:{q['ready']}" for name, q in sorted(queues.items())]
    return f"{' '.join(cells)} ({row.get('node', '-')})"


def show(settings: Settings, as_json: bool = False) -> None:
    """Print every ingest process's figures (a table, or JSON); NotAnswering if the database is silent."""
    rows = asyncio.run(read_rows(settings.database_url, settings.health_timeout_s))
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
    for r in rows:
        if r["stale"]:
            every = float(r.get("interval_s") or DEFAULT_INTERVAL_S)
            click.echo(f"STALE: {r['instance']} has not reported for {r['age_s']:g} s (it reports every {every:g} s): "
                       "hung, killed, or cut off from the database; its figures are old")
