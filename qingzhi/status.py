"""`qingzhi status`: the ingest processes (ingest/status.py) and the duty loop's last round.

`--json` prints one list: a row per ingest process (with "instance"), then a row per chore
(with "duty"), then, with QZ_DATABASE_READ_URL, the replica's delay (with "replica"). The table mode prints the ingest table, then the chores.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from ingest import status as ingest_status
from qingzhi.config import Settings
from qingzhi.db import read_within
from qingzhi.duties import last_runs
from qingzhi.replica import describe, replica_state

COLUMNS = ("duty", "last run", "ok", "took", "result", "last ok")
STALE_S = 120.0  # a chore not run for this long means no worker is running


def _cells(row: dict[str, Any]) -> tuple[str, ...]:
    return (row["duty"], f"{row['age_s']:g} s ago", "yes" if row["ok"] else "NO", f"{row['took_ms']:g} ms",
            row["result"], (row["last_ok"] or "never")[:19].replace("T", " "))


def show(settings: Settings, as_json: bool = False) -> None:
    """Print the ingest figures and the duty loop's chores (a table, or JSON)."""
    duties = asyncio.run(read_within(settings.database_url, settings.health_timeout_s, last_runs))
    replica = (asyncio.run(replica_state(settings.database_read_url, settings.health_timeout_s,
                                         settings.replica_max_lag_s)) if settings.database_read_url else None)
    if as_json:
        rows = asyncio.run(ingest_status.read_rows(settings.database_url, settings.health_timeout_s)) + duties
        click.echo(json.dumps(rows + ([replica] if replica else []), indent=2, ensure_ascii=False))
        return
    ingest_status.show(settings)
    if replica:
        click.echo(describe(replica), err=replica["behind"])
    if not duties:
        click.echo("duty loop: no round yet (is `qingzhi worker` running?)", err=True)
        return
    table = [COLUMNS] + [_cells(r) for r in duties]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    click.echo("")
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    if min(r["age_s"] for r in duties) > STALE_S:
        click.echo(f"duty loop: no round for over {STALE_S:g} s (is `qingzhi worker` running?)", err=True)
