"""The duty loop with no browser open: alerts raised by time passing reach the wall, once each;
one round at a time across workers; a broken chore does not stop the others; `qingzhi worker`
and `qingzhi status` as processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from auth_helpers import login_client
from dashboard import commands
from dashboard.app import create_app
from dashboard.context import AppContext
from db_helpers import with_conn
from dispatch_fixtures import app_context, seed_incident, seed_station, seed_unit
from ingest_helpers import wait_until
from qingzhi.core.actor import Actor
from qingzhi.config import Settings
from qingzhi.duties import CHORES, DUTY_LOCK, Chore, DutyLoop

DESK = Actor.person("值班长 张", "dispatch", role="commander")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app(settings: Settings) -> Iterator[AppContext]:
    """A station, two units, an unassigned P1 incident received two minutes ago and a fresh P3 one."""
    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        await seed_unit(conn, "C01", 30.2760, 120.1560)
        await seed_incident(conn, "P1", priority=1, ts=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2))
        await seed_incident(conn, "P3", priority=3)

    with_conn(settings.database_url, seed)
    with app_context(settings) as ctx:
        yield ctx


def rounds(settings: Settings, n: int, loop: DutyLoop | None = None) -> list[dict | None]:
    """n rounds of the duty loop on one connection, as `qingzhi worker` runs them."""
    loop = loop or DutyLoop(settings, "test-worker")

    async def go(conn: asyncpg.Connection) -> list[dict | None]:
        return [await loop.round(conn) for _ in range(n)]

    return with_conn(settings.database_url, go)


def alerts(settings: Settings) -> list[tuple]:
    return with_conn(settings.database_url, lambda c: c.fetch(
        "SELECT kind, subject, unit, incident, detail->>'stage' AS stage FROM alerts ORDER BY kind, subject"))


def test_no_page_open_ack_timeout_once_and_overdue_reach_the_wall(app: AppContext, settings: Settings) -> None:
    cmd = commands.assign(app, DESK, "P3", "C01")  # a real command over the broker, never acknowledged
    with_conn(settings.database_url, lambda c: c.execute("UPDATE commands SET ts = ts - interval '5 minutes'"))

    first, second = rounds(settings, 2)
    assert first["ack_timeouts"] == "1 raised" and first["overdue"] == "1 raised"
    assert second["ack_timeouts"] == "0 raised" and second["overdue"] == "0 raised"
    assert [tuple(a) for a in alerts(settings)] == [
        ("ack_timeout", cmd.id, "C01", "P3", None),
        ("overdue", "P1", None, "P1", "assign"),
    ]

    dash_app = create_app(settings)
    try:
        got = login_client(dash_app, "wall").get("/api/live/panel?lang=en")  # what /wall polls, as a wall account
    finally:
        dash_app.server.extensions["qingzhi"].db.close()
    assert got.status_code == 200
    body = got.get_json()
    assert body["open"] == 2
    feed = json.dumps(body["alerts"])
    assert feed.count("kind-ack_timeout") == 1 and feed.count("kind-overdue") == 1


def test_one_round_at_a_time(settings: Settings) -> None:
    async def go(conn: asyncpg.Connection) -> tuple:
        other = await asyncpg.connect(settings.database_url)
        try:
            await other.execute("SELECT pg_advisory_lock($1)", DUTY_LOCK)  # another worker mid-round
            skipped = await DutyLoop(settings, "second").round(conn)
            await other.execute("SELECT pg_advisory_unlock($1)", DUTY_LOCK)
            return skipped, await DutyLoop(settings, "second").round(conn)
        finally:
            await other.close()

    skipped, ran = with_conn(settings.database_url, go)
    assert skipped is None
    assert set(ran) == {c.name for c in CHORES}


def test_a_broken_chore_is_recorded_and_the_others_still_run(settings: Settings) -> None:
    async def broken(conn: asyncpg.Connection, settings: Settings) -> str:
        await conn.execute("SELECT * FROM no_such_table")
        return "never"

    loop = DutyLoop(settings, "w1", (Chore("broken", 0, broken), *CHORES))
    [done] = rounds(settings, 1, loop)
    assert done["broken"].startswith("UndefinedTableError") and done["lost_units"] == "0 raised"
    runs = {r["chore"]: r for r in with_conn(settings.database_url, lambda c: c.fetch("SELECT * FROM duty_runs"))}
    assert runs["broken"]["ok"] is False and runs["broken"]["last_ok"] is None
    assert runs["aggregates"]["ok"] is True and runs["aggregates"]["instance"] == "w1"


def test_chores_with_a_period_wait_for_it(settings: Settings) -> None:
    first, second = rounds(settings, 2)
    assert "partitions" in first and "partitions" not in second  # hourly
    assert "ack_timeouts" in second


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "QZ_DATABASE_URL": settings.database_url}
    return subprocess.run([sys.executable, "-m", "qingzhi", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_worker_process_raises_alerts_and_status_reports_it(settings: Settings, tmp_path: Path) -> None:
    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        await seed_incident(conn, "P1", priority=1, ts=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2))

    with_conn(settings.database_url, seed)
    assert "no round yet" in cli(settings, "status").stderr
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "qingzhi", "worker", "--every", "0.5"], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, env={**os.environ, "QZ_DATABASE_URL": settings.database_url})
    try:
        wait_until(lambda: alerts(settings), timeout=30)
        time.sleep(1.5)  # a few more rounds
        assert [tuple(a)[:2] for a in alerts(settings)] == [("overdue", "P1")]
        status = cli(settings, "status", "--json")
        table = cli(settings, "status")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        log.close()
    duties = {r["duty"]: r for r in json.loads(status.stdout) if "duty" in r}
    assert set(duties) == {c.name for c in CHORES} and all(r["ok"] for r in duties.values())
    assert duties["overdue"]["age_s"] < 30 and duties["overdue"]["result"].endswith("raised")
    assert "no ingest process has reported yet" in table.stdout and "ack_timeouts" in table.stdout
    assert "worker stopped" in (tmp_path / "worker.log").read_text()


def test_status_says_when_the_loop_is_stale(settings: Settings) -> None:
    rounds(settings, 1)
    asyncio.run(_age_runs(settings.database_url))
    assert "no round for over" in cli(settings, "status").stderr


async def _age_runs(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE duty_runs SET ran_at = ran_at - interval '10 minutes'")
    finally:
        await conn.close()
