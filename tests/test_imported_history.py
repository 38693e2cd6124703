"""Imported records are history: stored closed, never in the live queue or the overdue list, not in
the closed loop, but counted as calls; rows imported as open before are closed by migration 1800."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import asyncpg

from dashboard.dispatch.queries import queue
from dispatch_fixtures import run_db
from ingest_helpers import query as fetch
from qingzhi.config import Settings
from qingzhi.core.briefing.config import load_config as briefing_config
from qingzhi.core.briefing.counts import headline_counts
from qingzhi.core.briefing.service import closed_loop, overdue
from qingzhi.core.dispatch_config import load_config
from qingzhi.db import migration_files
from qingzhi.importer import import_incidents


def _write_calls(path: Path, when: dt.datetime) -> Path:
    stamp = when.isoformat(timespec="seconds")
    path.write_text("id,time,lat,lon,type,priority\n"
                    f"H-1,{stamp},30.27,120.15,theft.ebike,1\n"
                    f"H-2,{stamp},30.28,120.16,dispute,2\n", encoding="utf-8")
    return path


async def _live_call(conn: asyncpg.Connection, id_: str, ts: dt.datetime, source: str = "form",
                     state: str = "received") -> None:
    await conn.execute("""INSERT INTO incidents (id, ts, lat, lon, type, category, priority, source, state)
                          VALUES ($1, $2, 30.27, 120.15, 'dispute', 'dispute', 1, $3, $4)""", id_, ts, source, state)


def test_imported_calls_are_history_not_live_work(settings: Settings, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    hour_ago = now - dt.timedelta(hours=1)
    s = import_incidents(settings, _write_calls(tmp_path / "calls.csv", hour_ago), fmt="generic",
                         report=tmp_path / "bad.csv")
    assert s.inserted == 2
    assert fetch(settings.database_url, "SELECT DISTINCT source, state FROM incidents") == [("import", "closed")]

    async def figures(conn: asyncpg.Connection) -> tuple:
        await _live_call(conn, "LIVE-1", hour_ago)
        since, until = now - dt.timedelta(hours=2), now
        cfg = await load_config(conn)
        return ([r["id"] for r in await queue(conn, cfg, now=now)],
                [r["id"] for r in (await overdue(conn, cfg, since, until, None))["rows"]],
                await closed_loop(conn, since, until, None),
                (await headline_counts(conn, briefing_config(), since, until, None))["*"]["calls"])

    queued, late, loop, calls = run_db(settings.database_url, figures)
    assert queued == ["LIVE-1"]             # an hour-old imported call is not waiting for a unit
    assert late == ["LIVE-1"]               # nor late for one
    assert loop["incidents"] == 1 and loop["closed"] == 0
    assert calls == 3                       # but every call counts as a call


def test_migration_closes_earlier_imports_nobody_acted_on(settings: Settings) -> None:
    old = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)

    async def go(conn: asyncpg.Connection) -> list:
        await _live_call(conn, "IMP-OPEN", old, source="import")
        await _live_call(conn, "FORM-OPEN", old)
        await conn.execute(dict(migration_files())["1800_imported_closed.sql"])
        return await conn.fetch("SELECT id, state FROM incidents ORDER BY id")

    assert [tuple(r) for r in run_db(settings.database_url, go)] == [("FORM-OPEN", "received"),
                                                                    ("IMP-OPEN", "closed")]
