"""The dashboard against a streaming replica (deploy/cluster/up.sh --pg: primary 5491, replica 5492).

Reads that may lag (the audit search, analysis) go to QZ_DATABASE_READ_URL; the live map,
sign-in and actions stay on the primary. With the replica's replay paused, a new audit entry
is not in the dashboard's audit search while the live map still answers from the primary;
`qingzhi status` reports the replica behind, then caught up once replay resumes.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from auth_helpers import login_client, start_logged_in
from cluster_helpers import REPO, up
from db_helpers import with_conn
from ingest_helpers import query, wait_until
from test_analysis_page import ARTIFACTS, seed

from bench.services import free_port
from dashboard import ids
from dashboard.analysis.queries import ensure_fresh
from dashboard.app import create_app
from qingzhi.config import load_settings
from qingzhi.core import audit
from qingzhi.core.actor import Actor
from qingzhi.db import migrate_url

PRIMARY, REPLICA = "postgresql://postgres@127.0.0.1:5491", "postgresql://postgres@127.0.0.1:5492"


def run(url: str, sql: str, *args: object) -> object:
    """One statement's first value, on a fresh connection."""
    rows = query(url, sql, *args)
    return rows[0][0] if rows else None


@pytest.fixture(scope="module")
def pair() -> Iterator[str]:
    """A fresh migrated database on the primary, visible on the replica; its name."""
    up("--pg")
    name = f"qz_rep_{uuid.uuid4().hex[:10]}"
    run(f"{PRIMARY}/postgres", f"CREATE DATABASE {name}")
    asyncio.run(migrate_url(f"{PRIMARY}/{name}"))
    wait_until(lambda: run(f"{REPLICA}/{name}", "SELECT count(*) FROM schema_migrations"), timeout=30)
    yield name
    run(f"{REPLICA}/postgres", "SELECT pg_wal_replay_resume()")
    run(f"{PRIMARY}/postgres", f"DROP DATABASE {name} WITH (FORCE)")


def audit_search(client: object, action: str) -> list[dict]:
    """What dash-renderer posts for the audit page's search button; the rows it gets back."""
    key = f"..{ids.AUDIT_TABLE}.data...{ids.AUDIT_COUNT}.children.."
    state = [{"id": i, "property": "value", "value": v} for i, v in
             ((ids.AUDIT_ACTOR, ""), (ids.AUDIT_ACTION, action), (ids.AUDIT_INCIDENT, ""))]
    state += [{"id": ids.AUDIT_FROM, "property": "date", "value": None}, {"id": ids.AUDIT_TO, "property": "date", "value": None},
              {"id": ids.LANG, "property": "data", "value": "en"}]
    got = client.post("/_dash-update-component", json={
        "output": key, "outputs": [{"id": ids.AUDIT_TABLE, "property": "data"},
                                   {"id": ids.AUDIT_COUNT, "property": "children"}],
        "inputs": [{"id": ids.AUDIT_SEARCH, "property": "n_clicks", "value": 1}], "state": state,
        "changedPropIds": [f"{ids.AUDIT_SEARCH}.n_clicks"]})
    assert got.status_code == 200, got.get_data(as_text=True)[:500]
    return got.get_json()["response"][ids.AUDIT_TABLE]["data"]


def status(name: str, max_lag_s: float) -> tuple[str, dict]:
    """`qingzhi status` (table, then JSON) with the replica as read URL."""
    env = {"PATH": "/usr/bin:/bin", "QZ_DATABASE_URL": f"{PRIMARY}/{name}", "QZ_DATABASE_READ_URL": f"{REPLICA}/{name}",
           "QZ_REPLICA_MAX_LAG_S": str(max_lag_s)}
    cmd = [sys.executable, "-m", "qingzhi", "status"]
    table = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    rows = json.loads(subprocess.run(cmd + ["--json"], cwd=REPO, env=env, capture_output=True, text=True,
                                     timeout=60).stdout)
    return table.stdout + table.stderr, next(r for r in rows if "replica" in r)


def test_dashboard_reads_from_the_replica_and_a_lagging_replica_is_reported(pair: str) -> None:
    settings = load_settings(database_url=f"{PRIMARY}/{pair}", database_read_url=f"{REPLICA}/{pair}")
    app = create_app(settings)
    try:
        client = login_client(app, "admin")
        assert client.get("/analysis", headers={"Accept": "text/html"}).status_code == 200
        assert audit_search(client, "test.replica") == []
        run(f"{REPLICA}/{pair}", "SELECT pg_wal_replay_pause()")
        record = audit.record
        with_conn(f"{PRIMARY}/{pair}", record, Actor.system("test"), "test.replica")
        assert client.get("/api/live/units?since=0").status_code == 200      # the live map: primary, unaffected
        assert audit_search(client, "test.replica") == []                    # the replica has not replayed it
        table, state = status(pair, 0.5)
        wait_until(lambda: status(pair, 0.5)[1]["behind"], timeout=10, every=0.5)
        assert state["paused"] and "replay paused" in table
        run(f"{REPLICA}/{pair}", "SELECT pg_wal_replay_resume()")
        rows = wait_until(lambda: audit_search(client, "test.replica"), timeout=15, every=0.3)
        assert rows[0]["action"] == "test.replica"
        table, state = wait_until(lambda: (got := status(pair, 5))[1]["behind"] is False and got, timeout=15)
        assert state["delay_s"] == 0 and ": ok" in table and "BEHIND" not in table
    finally:
        app.server.extensions["qingzhi"].db.close()
        app.server.extensions["qingzhi"].read_db.close()


@pytest.mark.browser
def test_the_analysis_page_works_on_the_replica(dash_duo, pair: str) -> None:  # noqa: ANN001
    """Seeded on the primary, read in Chromium from the replica (sign-in and session on the primary)."""
    seed(f"{PRIMARY}/{pair}", 3000, 60, "Asia/Shanghai")
    wait_until(lambda: run(f"{REPLICA}/{pair}", "SELECT count(*) FROM an_cell_day"), timeout=30)
    settings = load_settings(database_url=f"{PRIMARY}/{pair}", database_read_url=f"{REPLICA}/{pair}")
    app = create_app(settings)
    try:
        start_logged_in(dash_duo, app, "analyst", port=free_port())
        dash_duo.driver.set_window_size(1600, 1800)
        dash_duo.wait_for_page(f"{dash_duo.server_url}/analysis?lang=en", timeout=30)
        dash_duo.wait_for_element("#an-top td", timeout=30)
        dash_duo.wait_for_element("#an-heat .main-svg", timeout=30)
        ARTIFACTS.mkdir(exist_ok=True)
        dash_duo.driver.save_screenshot(str(ARTIFACTS / "analysis_on_replica.png"))
        assert "incidents" in dash_duo.find_element("#an-map-note").text
        # no error on the page (map tiles do not load on this closed network: those are network errors)
        assert not [e for e in dash_duo.get_logs() or [] if e["level"] == "SEVERE" and e["source"] != "network"]
    finally:
        app.server.extensions["qingzhi"].db.close()
        app.server.extensions["qingzhi"].read_db.close()


def test_the_analysis_refresh_is_left_to_the_primary_on_a_replica(pair: str) -> None:
    """An analysis read on the replica with incidents pending does not try to write there."""
    run(f"{PRIMARY}/{pair}", "INSERT INTO an_dirty (id) VALUES ('I-replica-test')")    # a change not yet folded in
    wait_until(lambda: run(f"{REPLICA}/{pair}", "SELECT count(*) FROM an_dirty"), timeout=15)

    async def go() -> bool:
        conn = await asyncpg.connect(f"{REPLICA}/{pair}")
        try:
            await ensure_fresh(conn, "Asia/Shanghai")        # would raise "read-only transaction" if it wrote
            return await conn.fetchval("SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM an_dirty)")
        finally:
            await conn.close()
    try:
        assert asyncio.run(go())
    finally:
        run(f"{PRIMARY}/{pair}", "DELETE FROM an_dirty")


def test_status_says_when_the_read_url_is_not_a_replica_or_not_there(pair: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "QZ_DATABASE_URL": f"{PRIMARY}/{pair}"}
    for read_url, said in ((f"{PRIMARY}/{pair}", "not a replica"), ("postgresql://postgres@127.0.0.1:9/x", "cannot reach")):
        out = subprocess.run([sys.executable, "-m", "qingzhi", "status"], cwd=REPO, capture_output=True, text=True,
                             env={**env, "QZ_DATABASE_READ_URL": read_url}, timeout=60)
        assert said in out.stdout + out.stderr
