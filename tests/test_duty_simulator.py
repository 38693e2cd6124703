"""Closed loop: a raised level's plan applied as `patrol` commands to the simulator's units through the
real broker and `qingzhi ingest`; the devices acknowledge, drive there, and the zone's coverage rises."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely
from shapely.geometry import shape

from bench.services import IngestProcess
from dashboard import commands
from dashboard.context import AppContext
from dispatch_fixtures import app_context
from ingest_helpers import wait_until
from sim_helpers import simulator_process
from qingzhi.config import Settings
from qingzhi.core import levels, redeploy
from qingzhi.core.actor import Actor
from qingzhi.core.dispatch_config import DispatchConfig
from qingzhi.core.response_plan import load_plan

pytestmark = pytest.mark.slow
CHIEF = Actor.person("chief", "duty", role="admin")


@pytest.fixture
def running(settings: Settings, tmp_path: Path) -> Iterator[AppContext]:
    """The simulator (12 units, one station, 20× speed) and the ingest on this test's database."""
    ingest = IngestProcess(tmp_path / "ingest.log", database_url=settings.database_url, mqtt_url=settings.mqtt_url,
                           topic_root=settings.topic_root, client_id=f"qz-duty-ing-{uuid.uuid4().hex[:6]}",
                           batch_ms=50).start()
    ingest.wait_connected()          # before the simulator: its first statuses must be stored
    try:
        with simulator_process(settings, tmp_path / "sim.log"), app_context(settings) as app:
            yield app
    finally:
        ingest.stop()


def _inside(app: AppContext, zone: str) -> int:
    """Units available or patrolling whose live position is inside the zone now."""
    async def go(conn: object) -> int:
        boundary = await conn.fetchval("SELECT boundary FROM zones WHERE id = $1", zone)
        rows = await conn.fetch("SELECT lat, lon FROM units WHERE status IN ('available', 'patrolling')"
                                " AND lat IS NOT NULL")
        poly = shape(boundary if isinstance(boundary, dict) else json.loads(boundary))
        return int(sum(shapely.contains_xy(poly, r["lon"], r["lat"]) for r in rows))
    return app.db.run(go)


def test_applied_moves_are_acknowledged_and_driven_and_coverage_rises(running: AppContext) -> None:
    app = running
    plan_file, cfg = load_plan(), DispatchConfig()
    wait_until(lambda: app.db.run(lambda c: c.fetchval(
        "SELECT count(*) FROM units WHERE lat IS NOT NULL AND status IS NOT NULL")) >= 12, timeout=60)
    zones = app.db.run(lambda c: c.fetch("SELECT id FROM zones ORDER BY id"))
    target = min((z["id"] for z in zones), key=lambda z: _inside(app, z))
    before = _inside(app, target)
    app.db.act(levels.set_level, CHIEF, scope="zone", target=target, level="I", reason="closed-loop test")
    need = plan_file.minimum(1, "residential")
    plan = app.db.act(redeploy.build_plan, CHIEF, response=plan_file, cfg=cfg)
    moves = [(m.unit, m.zone) for m in plan.moves if m.zone == target]
    assert len(moves) == need - before > 0, (before, need, plan.as_dict())
    results = commands.apply_moves(app, CHIEF, moves)
    assert all(r.get("published") for r in results), results
    sent = [r["command"] for r in results]
    wait_until(lambda: app.db.run(lambda c: c.fetchval(
        "SELECT count(*) FROM commands WHERE id::text = ANY($1::text[]) AND ack_ts IS NOT NULL", sent)) == len(sent),
        timeout=30)
    assert wait_until(lambda: _inside(app, target) >= need, timeout=120), "the units did not reach the zone"
