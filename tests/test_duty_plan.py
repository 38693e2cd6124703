"""The redeployment plan on the database: who moves where, busy units untouched, applying only the
ticked moves as `patrol` commands on the real broker (audited, acknowledged like a dispatch), refusing
what breaks the rules, recalls after a lowered level, zones short past the grace, `qingzhi plan`."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
from collections.abc import Iterator

import asyncpg
import numpy as np
import pytest
from shapely.geometry import box

from dashboard.commands import Publisher
from dispatch_fixtures import CENTER, Listener, run_db, write_ack
from duty_fixtures import two_stations
from qingzhi.config import Settings
from qingzhi.core import levels, redeploy
from qingzhi.core.actor import Actor
from qingzhi.core.dispatch_config import DispatchConfig
from qingzhi.core.geo import Projection
from qingzhi.core.response_plan import load_plan
from qingzhi.core.roads import RoadTimes
from qingzhi.duties import DutyLoop
from qingzhi.simulator.streets import generate_grid

ADMIN = Actor.person("chief", "test", role="admin")
S1_CMDR = Actor.person("li", "test", role="commander", stations=frozenset({"S1"}))
S2_CMDR = Actor.person("zhao", "test", role="commander", stations=frozenset({"S2"}))
PLAN = load_plan()
CFG = DispatchConfig()


@pytest.fixture
def district(settings: Settings) -> Settings:
    """Two stations; Z1 raised to II (needs 2) and Z2 to I (needs 2): three places to fill from Z0's four cars."""
    async def seed(conn: asyncpg.Connection) -> None:
        await two_stations(conn)
        await levels.set_level(ADMIN, conn, scope="zone", target="Z1", level="II", reason="盗窃上升")
        await levels.set_level(ADMIN, conn, scope="zone", target="Z2", level="I", reason="大型活动")
    run_db(settings.database_url, seed)
    return settings


@pytest.fixture
def publisher(district: Settings) -> Iterator[Publisher]:
    pub = Publisher(district)
    pub.ensure_connected()
    yield pub
    pub.close()


def _plan(settings: Settings, actor: Actor = ADMIN) -> redeploy.Plan:
    return run_db(settings.database_url, lambda c: redeploy.build_plan(actor, c, response=PLAN, cfg=CFG))


def test_plan_fills_the_raised_zones_from_the_surplus_only(district: Settings) -> None:
    plan = _plan(district)
    assert sorted(m.zone for m in plan.moves) == ["Z1", "Z2", "Z2"]
    assert {m.from_zone for m in plan.moves} == {"Z0"} and {m.unit for m in plan.moves} < {"A1", "A2", "A3", "A4"}
    assert plan.shortfalls == []
    assert {m.level for m in plan.moves if m.zone == "Z2"} == {"I"}
    # 7 cars on duty, all patrolling: on the street 100 %, the plan asks 90 % at level I
    assert plan.street == {"on_duty": 7, "on_street": 7, "share": 1.0, "required": 0.9, "met": True}
    zones = {z["zone"]: (z["need"], z["have"]) for z in plan.zones}
    assert zones == {"Z0": (1, 4), "Z1": (2, 1), "Z2": (2, 0), "Z3": (1, 2)}
    # the S2 commander sees none of S1's plan; S2 lends nothing across the boundary
    assert _plan(district, S2_CMDR).moves == [] and [z["zone"] for z in _plan(district, S2_CMDR).zones] == ["Z3"]


def test_busy_en_route_and_on_scene_units_are_never_moved_and_the_gap_is_reported(district: Settings) -> None:
    run_db(district.database_url, lambda c: c.execute(
        "UPDATE units SET status = CASE id WHEN 'A3' THEN 'en_route' WHEN 'A4' THEN 'on_scene' ELSE status END"))
    plan = _plan(district)
    assert not {m.unit for m in plan.moves} & {"A3", "A4"}
    assert len(plan.moves) == 1                       # Z0 keeps 1 of its 2 counted cars
    assert sum(s.short for s in plan.shortfalls) == 2
    assert plan.as_dict()["totals"]["short"] == 2
    assert plan.street["on_street"] == 5 and plan.street["on_duty"] == 7 and not plan.street["met"]


def test_applying_sends_exactly_the_ticked_moves(district: Settings, publisher: Publisher) -> None:
    plan = _plan(district)
    ticked = [(m.unit, m.zone) for m in plan.moves][:2]     # the commander unticked the third
    listener = Listener(district.mqtt_url, f"{district.topic_root}/#")
    try:
        results = run_db(district.database_url, lambda c: redeploy.apply_moves(
            S1_CMDR, c, ticked, response=PLAN, topic_root=district.topic_root, publish=publisher.apublish))
        assert [("command" in r, r.get("published")) for r in results] == [(True, True), (True, True)]
        got = [listener.next() for _ in ticked]
        with pytest.raises(queue.Empty):
            listener.next(timeout=1.0)
    finally:
        listener.close()
    by_unit = {topic.split("/")[-2]: payload for topic, payload in got}
    assert set(by_unit) == {u for u, _ in ticked}
    for unit, zone in ticked:
        p = by_unit[unit]
        assert p["kind"] == "patrol" and p["zone"] == zone and p["by"] == "li"
        assert p["level"] in ("I", "II") and p["until"] > p["ts"] and {"lat", "lon", "id"} <= set(p)

    async def check(conn: asyncpg.Connection) -> None:
        rows = await conn.fetch("SELECT unit, zone, level, until, published_at FROM commands WHERE kind = 'patrol'")
        assert {(r["unit"], r["zone"]) for r in rows} == set(ticked) and all(r["published_at"] for r in rows)
        acts = [r["action"] for r in await conn.fetch("SELECT action FROM audit_log WHERE actor = 'li' ORDER BY id")]
        assert acts == ["plan.move", "plan.move", "plan.apply"]
        # the applied units now count for their new zones: only the unticked move is left
        left = await redeploy.build_plan(ADMIN, conn, response=PLAN, cfg=CFG)
        assert len(left.moves) == 1 and (left.moves[0].unit, left.moves[0].zone) not in ticked

    run_db(district.database_url, check)


def test_apply_refuses_what_breaks_the_rules_and_sends_nothing_for_it(district: Settings,
                                                                     publisher: Publisher) -> None:
    run_db(district.database_url, lambda c: c.execute("UPDATE units SET status = 'en_route' WHERE id = 'A4'"))
    bad = [("A4", "Z2"), ("C1", "Z2"), ("NOPE", "Z2"), ("A1", "Z0"), ("A2", "Z3"), ("A3", "<script>")]
    results = run_db(district.database_url, lambda c: redeploy.apply_moves(
        S1_CMDR, c, bad, response=PLAN, topic_root=district.topic_root, publish=publisher.apublish))
    assert all("error" in r for r in results), results
    assert "not available" in results[0]["error"] and "not available" in results[1]["error"]
    assert "already counts" in results[3]["error"] and "no zone" in results[4]["error"]
    # B1 is Z1's only car: taking it to Z2 would leave Z1 below its minimum
    more = run_db(district.database_url, lambda c: redeploy.apply_moves(
        ADMIN, c, [("B1", "Z2")], response=PLAN, topic_root=district.topic_root, publish=publisher.apublish))
    assert "below its minimum" in more[0]["error"]
    with pytest.raises(Exception, match="more than one move"):
        run_db(district.database_url, lambda c: redeploy.apply_moves(
            ADMIN, c, [("A1", "Z1"), ("A1", "Z2")], response=PLAN, topic_root=district.topic_root,
            publish=publisher.apublish))
    with pytest.raises(Exception, match="may not duty.act"):
        run_db(district.database_url, lambda c: redeploy.apply_moves(
            Actor.person("w", "test", role="wall"), c, [("A1", "Z1")], response=PLAN,
            topic_root=district.topic_root, publish=publisher.apublish))
    assert run_db(district.database_url, lambda c: c.fetchval("SELECT count(*) FROM commands")) == 0


def test_patrol_commands_are_acknowledged_like_a_dispatch(district: Settings, publisher: Publisher) -> None:
    plan = _plan(district)
    results = run_db(district.database_url, lambda c: redeploy.apply_moves(
        ADMIN, c, [(m.unit, m.zone) for m in plan.moves[:2]], response=PLAN, topic_root=district.topic_root,
        publish=publisher.apublish))

    async def go(conn: asyncpg.Connection) -> None:
        await write_ack(conn, results[0]["command"], results[0]["unit"])
        await conn.execute("UPDATE commands SET ts = ts - interval '5 minutes'")
        await DutyLoop(district, "w1").round(conn)
        timed_out = await conn.fetch("SELECT subject FROM alerts WHERE kind = 'ack_timeout'")
        assert [r["subject"] for r in timed_out] == [results[1]["command"]]

    run_db(district.database_url, go)


def test_lowering_a_level_lists_recalls_and_recall_sends_them_home(district: Settings, publisher: Publisher) -> None:
    plan = _plan(district)
    run_db(district.database_url, lambda c: redeploy.apply_moves(
        ADMIN, c, [(m.unit, m.zone) for m in plan.moves], response=PLAN, topic_root=district.topic_root,
        publish=publisher.apublish))
    run_db(district.database_url, lambda c: levels.clear_level(ADMIN, c, scope="zone", target="Z2", reason="活动结束"))
    after = _plan(district)
    assert [r["zone"] for r in after.recalls] == ["Z2"]      # Z2 needs 1 now: one of its two may go home
    assert after.recalls[0]["sent_for"] == "I" and after.recalls[0]["level_now"] == "IV"
    listener = Listener(district.mqtt_url, f"{district.topic_root}/#")
    try:
        sent = run_db(district.database_url, lambda c: redeploy.recall_units(
            S1_CMDR, c, [after.recalls[0]["unit"]], topic_root=district.topic_root, publish=publisher.apublish))
        topic, payload = listener.next()
    finally:
        listener.close()
    assert sent[0]["published"] and payload["kind"] == "recall" and topic.endswith(f"/{after.recalls[0]['unit']}/cmd")
    refused = run_db(district.database_url, lambda c: redeploy.recall_units(
        S2_CMDR, c, ["A1"], topic_root=district.topic_root, publish=publisher.apublish))
    assert "may not" in refused[0]["error"]


def test_zone_short_past_the_grace_raises_one_alert(district: Settings) -> None:
    async def go(conn: asyncpg.Connection) -> None:
        assert "0 raised (2 zones short)" == (await DutyLoop(district, "w1").round(conn))["zone_shortage"]
        await conn.execute("UPDATE zone_shortage SET short_since = now() - interval '11 minutes'")
        assert "2 raised" in (await DutyLoop(district, "w2").round(conn))["zone_shortage"]
        assert "0 raised" in (await DutyLoop(district, "w3").round(conn))["zone_shortage"]
        alerts = await conn.fetch("SELECT zone, detail FROM alerts WHERE kind = 'zone_short' ORDER BY zone")
        assert [(a["zone"], json.loads(a["detail"])["need"]) for a in alerts] == [("Z1", 2), ("Z2", 2)]
        await levels.clear_level(ADMIN, conn, scope="zone", target="Z1", reason="ok")
        await DutyLoop(district, "w4").round(conn)
        assert [r["zone"] for r in await conn.fetch("SELECT zone FROM zone_shortage")] == ["Z2"]

    run_db(district.database_url, go)


def test_plan_command_prints_json_and_applies(district: Settings) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "qingzhi", "plan", *args, "--database-url",
                               district.database_url, "--mqtt-url", district.mqtt_url, "--topic-root",
                               district.topic_root], capture_output=True, text=True, timeout=60)

    out = json.loads(cli("--json").stdout)
    assert out["totals"]["moves"] == 3 and {"unit", "from_zone", "zone", "eta_s"} <= set(out["moves"][0])
    applied = cli("--apply")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.count("applied: ") == 3 and "REFUSED" not in applied.stdout
    rows = run_db(district.database_url, lambda c: c.fetch("SELECT issued_by FROM commands WHERE kind = 'patrol'"))
    assert len(rows) == 3 and all(r["issued_by"].startswith("cli:") for r in rows)


def test_road_etas_are_used_where_a_network_is_configured(district: Settings) -> None:
    proj = Projection(*CENTER)
    roads = RoadTimes(generate_grid(np.random.default_rng(3), box(-3000, -3000, 6000, 3000), spacing=250.0), proj)
    straight = _plan(district)
    by_road = run_db(district.database_url, lambda c: redeploy.build_plan(ADMIN, c, response=PLAN, cfg=CFG,
                                                                         roads=roads))
    assert sorted(m.zone for m in by_road.moves) == sorted(m.zone for m in straight.moves)
    # a street grid is never shorter than the straight line (and usually longer)
    assert by_road.total_eta_s > straight.total_eta_s
    for m in by_road.moves:
        line = next((s for s in straight.moves if s.unit == m.unit), None)
        assert line is None or m.eta_s >= line.eta_s * 0.95
