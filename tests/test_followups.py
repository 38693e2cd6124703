"""The follow-up loop 交办 → 核查 → 处置 → 反馈 → 评价 → 问效 in the core: each step in order, timed and
audited, refused to the wrong people; the slip as a `message` command with its ack; overdue alerts;
the duty loop's effect check closing, reopening and escalating; grids giving the default officer;
diversion; and the briefing's figures."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg
import pytest

from dashboard.live import queries as live_queries
from dispatch_fixtures import CENTER, run_db, seed_incident, seed_station, seed_unit, write_ack
from qingzhi.core import audit, followups, governance, grids, incident_actions
from qingzhi.core.access import Unauthorized
from qingzhi.core.actor import Actor
from qingzhi.core.dispatch_config import DispatchConfig, load_config
from qingzhi.core.repeats import repeat_flags
from qingzhi.errors import QingzhiError

LAT, LON = CENTER
LEAD = Actor.person("lead", "test", role="commander", stations=frozenset({"S1"}))
OTHER = Actor.person("other", "test", role="commander", stations=frozenset({"S2"}))
ANALYST = Actor.person("ann", "test", role="analyst")
CALLER = "c" * 64


def square(lat: float, lon: float, d: float = 0.01) -> dict[str, Any]:
    """A square GeoJSON polygon around a point."""
    return {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d],
                                                [lon - d, lat + d], [lon - d, lat - d]]]}


GRIDS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": square(LAT - 0.02, LON - 0.02),
     "properties": {"id": "S1-G01", "name": "文三社区", "officer": "王警官", "unit": "CO1", "grid_worker": "李网格"}},
    {"type": "Feature", "geometry": square(LAT + 0.05, LON + 0.05),
     "properties": {"id": "S1-G02", "name": "古荡社区", "officer": "赵警官"}},
]}


class Sent:
    """A publish function that keeps what it was given (the broker is tested in test_dispatch_loop)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict]] = []

    async def __call__(self, topic: str, payload: bytes) -> bool:
        self.messages.append((topic, json.loads(payload)))
        return True


async def _seed(conn: asyncpg.Connection) -> None:
    await seed_station(conn, "S1")
    await seed_station(conn, "S2", LAT + 0.2, LON)
    await seed_unit(conn, "CO1", LAT, LON, station="S1")
    await seed_unit(conn, "CO9", LAT, LON, station="S2")
    now = dt.datetime.now(dt.UTC)
    for n in range(30):  # the district's ordinary calls: each number once
        await seed_incident(conn, f"O{n}", ts=now - dt.timedelta(days=n + 0.5), caller_hash=f"{n:064x}",
                            lat=LAT + n * 0.003, lon=LON + 0.05)
    for n, d in enumerate((1, 4, 9, 15), 1):  # one number four times, at the grid's corner
        await seed_incident(conn, f"C{n}", ts=now - dt.timedelta(days=d), caller_hash=CALLER,
                            lat=LAT - 0.02, lon=LON - 0.02 + n * 0.001, type="noise.complaint")


def _caller_task(url: str) -> int:
    run_db(url, _seed)
    run_db(url, lambda c: grids.load_grids(LEAD, c, "S1", GRIDS))
    flag = next(f for f in run_db(url, repeat_flags, DispatchConfig(), now=dt.datetime.now(dt.UTC))
                if f["kind"] == "caller")
    return run_db(url, lambda c: followups.create_followup(LEAD, c, flag))


def test_whole_loop_in_order_timed_audited_with_the_slip_and_its_ack(database_url: str) -> None:
    task = _caller_task(database_url)
    sent = Sent()
    with pytest.raises(QingzhiError, match="is open: next is assigned, not verified"):
        run_db(database_url, lambda c: followups.record_step(LEAD, c, task, "verified", text="x"))
    with pytest.raises(Unauthorized):
        run_db(database_url, lambda c: followups.assign_followup(OTHER, c, task, topic_root="qz/v1", publish=sent))
    with pytest.raises(Unauthorized):  # nor may one send it to another station's officer
        run_db(database_url, lambda c: followups.assign_followup(LEAD, c, task, topic_root="qz/v1", publish=sent,
                                                                 station="S2", unit="CO9"))
    cmd = run_db(database_url, lambda c: followups.assign_followup(LEAD, c, task, topic_root="qz/v1", publish=sent))
    # the grid's officer, device and worker by default; the slip as PROTOCOL.md's `message` with `task`
    topic, payload = sent.messages[0]
    assert topic == "qz/v1/S1/CO1/cmd"
    assert (payload["kind"], payload["task"], payload["id"], payload["by"]) == ("message", str(task), cmd, "lead")
    assert payload["note"].startswith(f"警单 #{task}") and "第 4 次报警" in payload["note"]
    run_db(database_url, write_ack, cmd, "CO1")  # the device acknowledges, as the ingest records it

    hostile = "<script>alert(1)</script>' OR 1=1 --"
    run_db(database_url, lambda c: followups.record_step(LEAD, c, task, "verified", text=hostile))
    with pytest.raises(QingzhiError, match="say what was done"):
        run_db(database_url, lambda c: followups.record_step(LEAD, c, task, "handled", text="   "))
    with pytest.raises(QingzhiError, match="1 to 500 characters of plain text"):
        run_db(database_url, lambda c: followups.record_step(LEAD, c, task, "handled", text="x" * 501))
    with pytest.raises(Unauthorized):
        run_db(database_url, lambda c: followups.record_step(ANALYST, c, task, "handled", text="x"))
    run_db(database_url, lambda c: followups.record_step(LEAD, c, task, "handled", text="调解邻里，加装隔音"))
    run_db(database_url, lambda c: followups.record_step(LEAD, c, task, "reported", text="已电话告知报警人"))
    for bad in (None, 0, 6, 99999):
        with pytest.raises(QingzhiError, match="a rating is 1 to 5"):
            run_db(database_url, lambda c: followups.record_step(LEAD, c, task, "rated", rating=bad))
    run_db(database_url, lambda c: followups.record_step(LEAD, c, task, "rated", rating=4, text="满意"))
    with pytest.raises(QingzhiError, match="is rated: next is nothing"):
        run_db(database_url, lambda c: followups.record_step(LEAD, c, task, "rated", rating=4))

    [t] = run_db(database_url, followups.tasks, include_closed=True)
    assert (t["state"], t["officer"], t["unit"], t["grid"], t["grid_worker"]) == ("rated", "王警官", "CO1", "S1-G01", "李网格")
    assert str(t["slip"]) == cmd and t["slip_ack"] is not None
    assert [s["step"] for s in t["steps"]] == ["open", "assigned", "verified", "handled", "reported", "rated"]
    assert t["steps"][2]["text"] == hostile and t["steps"][5]["rating"] == 4
    times = [s["ts"] for s in t["steps"]]
    assert times == sorted(times) and all(s["due_at"] is not None for s in t["steps"][1:])
    assert t["check_at"] > dt.datetime.now(dt.UTC) + dt.timedelta(days=29)
    logged = [e["action"] for e in reversed(run_db(database_url, audit.search, action="followup."))]
    assert logged == ["followup.open", "followup.assigned", "followup.verified", "followup.handled",
                      "followup.reported", "followup.rated"]
    assert all(not s["late"] for s in t["steps"])


def test_overdue_steps_alert_once_and_are_marked_late(database_url: str) -> None:
    task = _caller_task(database_url)
    run_db(database_url, lambda c: followups.assign_followup(LEAD, c, task, topic_root="qz/v1", publish=Sent(),
                                                             officer="赵警官"))
    run_db(database_url, lambda c: c.execute("UPDATE followups SET due_at = now() - interval '1 hour' WHERE id = $1", task))
    assert run_db(database_url, followups.overdue_steps) == 1
    assert run_db(database_url, followups.overdue_steps) == 0  # the same deadline raises it once
    alert = run_db(database_url, lambda c: c.fetchrow("SELECT * FROM alerts WHERE kind = 'followup_overdue'"))
    assert (alert["subject"], alert["station"]) == (f"followup:{task}", "S1")
    run_db(database_url, lambda c: followups.record_step(LEAD, c, task, "verified", text="found"))
    [t] = run_db(database_url, followups.tasks)
    assert t["steps"][-1]["late"] is True and t["unit"] is None  # another officer: not the grid's device


async def _rate(conn: asyncpg.Connection, task: int) -> None:
    for step in ("verified", "handled", "reported"):
        await followups.record_step(LEAD, conn, task, step, text=step)
    await followups.record_step(LEAD, conn, task, "rated", rating=3)


def test_effect_check_reopens_escalates_while_calls_go_on_and_closes_when_they_stop(database_url: str) -> None:
    task = _caller_task(database_url)
    cfg = DispatchConfig()
    run_db(database_url, lambda c: followups.assign_followup(LEAD, c, task, topic_root="qz/v1", publish=Sent()))
    run_db(database_url, _rate, task)
    assert run_db(database_url, followups.effect_checks, cfg) == {"closed": 0, "reopened": 0, "escalated": 0}  # not due

    async def calls_continue(conn: asyncpg.Connection, tag: str) -> None:
        await conn.execute("UPDATE followups SET check_at = now() - interval '1 second' WHERE id = $1", task)
        for n in range(5):
            await seed_incident(conn, f"{tag}{n}", caller_hash=CALLER, ts=dt.datetime.now(dt.UTC))

    run_db(database_url, calls_continue, "A")
    assert run_db(database_url, followups.effect_checks, cfg)["reopened"] == 1
    [t] = run_db(database_url, followups.tasks)
    assert (t["state"], t["reopened"], t["effective"], t["officer"]) == ("assigned", 1, False, "王警官")
    assert json.loads(json.dumps(t["steps"][-1], default=str))["text"] == "reopened"
    run_db(database_url, _rate, task)
    run_db(database_url, calls_continue, "B")
    assert run_db(database_url, followups.effect_checks, cfg)["escalated"] == 1
    assert run_db(database_url, lambda c: c.fetchval(
        "SELECT count(*) FROM alerts WHERE kind = 'followup_escalated' AND subject = $1", f"followup:{task}")) == 1
    # a commander gives it again, and this time the calls stop
    run_db(database_url, lambda c: followups.assign_followup(LEAD, c, task, topic_root="qz/v1", publish=Sent(),
                                                             officer="所长"))
    run_db(database_url, _rate, task)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)  # the calls above are long before: nothing since
    run_db(database_url, lambda c: c.execute("UPDATE followups SET created_at = now() + interval '399 days' WHERE id = $1", task))
    assert run_db(database_url, followups.effect_checks, cfg, later)["closed"] == 1
    [t] = run_db(database_url, followups.tasks, include_closed=True)
    assert (t["state"], t["effective"]) == ("closed", True)
    figures = run_db(database_url, governance.task_figures, dt.datetime.now(dt.UTC) - dt.timedelta(days=1), later + dt.timedelta(days=1))
    assert (figures["opened"], figures["closed"], figures["effective"], figures["reopened"], figures["escalated"]) == (1, 1, 1, 1, 1)
    assert run_db(database_url, governance.task_figures, later, later, stations=["S2"])["open_now"] == 0


def test_grids_load_checked_and_replaced(database_url: str) -> None:
    run_db(database_url, _seed)
    with pytest.raises(Unauthorized):
        run_db(database_url, lambda c: grids.load_grids(OTHER, c, "S1", GRIDS))
    for bad, why in ((GRIDS["features"][0], "FeatureCollection"),
                     ({"type": "FeatureCollection", "features": [{"geometry": {"type": "Point", "coordinates": [1, 2]}}]},
                      "Polygon or MultiPolygon"),
                     ({"type": "FeatureCollection", "features": [{**GRIDS["features"][0], "properties": {"id": "x"}}]},
                      "'name' is required"),
                     ({"type": "FeatureCollection", "features": [GRIDS["features"][0]] * 2}, "must be unique"),
                     ({"type": "FeatureCollection", "features": [{**GRIDS["features"][0],
                       "geometry": square(500, 500)}]}, "not in degrees")):
        with pytest.raises(QingzhiError, match=why):
            run_db(database_url, lambda c: grids.load_grids(LEAD, c, "S1", bad))
    assert run_db(database_url, lambda c: grids.load_grids(LEAD, c, "S1", GRIDS)) == 2
    one = {"type": "FeatureCollection", "features": GRIDS["features"][1:]}
    assert run_db(database_url, lambda c: grids.load_grids(LEAD, c, "S1", one)) == 1
    g = run_db(database_url, grids.grids_geojson)
    assert [f["properties"]["officer"] for f in g["features"]] == ["赵警官"]
    shown = run_db(database_url, live_queries.areas, ["S1"])["grids"]  # what the live map's grid layer draws
    assert [f["properties"]["name"] for f in shown["features"]] == ["古荡社区"]
    assert run_db(database_url, live_queries.areas, ["S2"])["grids"]["features"] == []
    assert run_db(database_url, grids.grid_at, LAT + 0.05, LON + 0.05)["id"] == "S1-G02"
    assert run_db(database_url, grids.grid_at, LAT - 0.02, LON - 0.02) is None


def test_diversion_closes_the_incident_counted_for_the_briefing(database_url: str) -> None:
    async def seed(conn: asyncpg.Connection) -> None:
        await _seed(conn)
        await seed_incident(conn, "D1", type="noise.complaint")
        await seed_incident(conn, "D2", type="other", state="closed")

    run_db(database_url, seed)
    for agency, reason, why in (("police", "x", "unknown agency"), ("urban_management", " ", "give the reason"),
                                ("urban_management", "x" * 201, "give the reason")):
        with pytest.raises(QingzhiError, match=why):
            run_db(database_url, lambda c: incident_actions.divert(LEAD, c, "D1", agency=agency, reason=reason))
    with pytest.raises(Unauthorized):
        run_db(database_url, lambda c: incident_actions.divert(OTHER, c, "D1", agency="urban_management", reason="占道"))
    with pytest.raises(QingzhiError, match="cannot go to diverted"):
        run_db(database_url, lambda c: incident_actions.divert(LEAD, c, "D2", agency="utilities", reason="停水"))
    run_db(database_url, lambda c: incident_actions.divert(LEAD, c, "D1", agency="urban_management", reason="占道经营噪音"))
    row = run_db(database_url, lambda c: c.fetchrow("SELECT * FROM incidents WHERE id = 'D1'"))
    assert (row["state"], row["diverted_to"], row["divert_reason"]) == ("diverted", "urban_management", "占道经营噪音")
    assert run_db(database_url, audit.entries, incident="D1")[0]["details"]["agency"] == "urban_management"
    day = dt.timedelta(days=1)
    now = dt.datetime.now(dt.UTC)
    assert run_db(database_url, governance.diverted_counts, now - day, now + day) == {
        "total": 1, "by_agency": {"urban_management": 1}}
    assert run_db(database_url, governance.diverted_counts, now - day, now + day, stations=["S2"])["total"] == 0


def test_repeat_share_and_its_change_year_on_year(database_url: str) -> None:
    this = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    last = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)

    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        for n in range(10):  # this March: 10 calls, 2 of them repeats (a number's 2nd and 3rd call)
            await seed_incident(conn, f"N{n}", ts=this + dt.timedelta(days=n), caller_hash="r" * 64 if n < 3 else f"{n:064x}")
        for n in range(10):  # last March: 10 calls, 4 repeats
            await seed_incident(conn, f"L{n}", ts=last + dt.timedelta(days=n), caller_hash="q" * 64 if n < 5 else f"{n:064x}")

    run_db(database_url, seed)
    got = run_db(database_url, governance.repeat_share_yoy, this, this + dt.timedelta(days=31))
    assert got["current"] == {"calls": 10, "repeats": 2, "share": 0.2}
    assert got["year_before"] == {"calls": 10, "repeats": 4, "share": 0.4}
    assert got["change_pp"] == -20.0 and got["change_rel"] == pytest.approx(-0.5)
    empty = run_db(database_url, governance.repeat_share_yoy, this + dt.timedelta(days=100), this + dt.timedelta(days=101))
    assert empty["current"]["share"] is None and empty["change_pp"] is None
    assert run_db(database_url, load_config).followup.effect_days == 30


def test_the_duty_loop_raises_overdue_steps_and_runs_effect_checks(settings: Any) -> None:
    from qingzhi.duties import CHORES, DutyLoop

    url = settings.database_url
    task = _caller_task(url)
    run_db(url, lambda c: followups.assign_followup(LEAD, c, task, topic_root="qz/v1", publish=Sent()))
    run_db(url, _rate, task)
    run_db(url, lambda c: c.execute("UPDATE followups SET check_at = now() - interval '1 minute' WHERE id = $1", task))
    run_db(url, seed_incident, "AGAIN", caller_hash=CALLER)  # the number called again since the task
    loop = DutyLoop(settings, "test", tuple(c for c in CHORES if c.name in ("followup_overdue", "effect_checks")))
    done = run_db(url, loop.round)
    assert done["effect_checks"] == "1 checked: 0 closed, 1 reopened, 0 escalated"
    run_db(url, lambda c: c.execute("UPDATE followups SET due_at = now() - interval '1 minute' WHERE id = $1", task))
    assert run_db(url, DutyLoop(settings, "test2", loop.chores).round)["followup_overdue"] == "1 raised"


def test_the_demo_loads_a_grid_per_patrol_zone_with_its_officer(database_url: str) -> None:
    import numpy as np

    from qingzhi import demo_grids
    from qingzhi.simulator.district import build_district
    from qingzhi.simulator.fleet import roster
    from qingzhi.simulator.reference import write_reference

    district = build_district(1, CENTER, 2)
    run_db(database_url, write_reference, district, roster(district, 30, np.random.default_rng(0)))
    zones = run_db(database_url, lambda c: c.fetchval("SELECT count(*) FROM zones"))
    assert demo_grids.ensure(database_url) == zones > 0
    assert demo_grids.ensure(database_url) == zones  # again: replaced, not doubled
    rows = run_db(database_url, lambda c: c.fetch(
        "SELECT g.officer, g.unit, u.station = g.station AS own FROM grids g LEFT JOIN units u ON u.id = g.unit"))
    assert len(rows) == zones and all(r["officer"].endswith("警官") and r["own"] for r in rows)


def test_loop_and_agencies_are_settings_checked_saved_and_labelled(database_url: str) -> None:
    from dashboard.i18n import STRINGS
    from qingzhi.core.dispatch_config import save_setting

    admin = Actor.person("root", "test", role="admin")
    assert [k for k in DispatchConfig.model_fields if f"setting.{k}" not in STRINGS] == []  # the Setup tab's labels
    for key, bad, why in (("followup", {"step_hours": {"assigned": -1}}, "step_hours"),
                          ("followup", {"effect_ratio": 2}, "effect_ratio|less than or equal"),
                          ("agencies", [], "at least 1"),
                          ("agencies", [{"id": "<b>", "zh": "x", "en": "x"}], "pattern")):
        with pytest.raises(QingzhiError, match=why):
            run_db(database_url, lambda c: save_setting(admin, c, key, bad))
    with pytest.raises(Unauthorized):
        run_db(database_url, lambda c: save_setting(LEAD, c, "agencies", [{"id": "x", "zh": "x", "en": "x"}]))
    run_db(database_url, lambda c: save_setting(admin, c, "agencies", [{"id": "water", "zh": "水务", "en": "Water"}]))
    run_db(database_url, lambda c: save_setting(admin, c, "followup", {"effect_days": 7}))
    cfg = run_db(database_url, load_config)
    assert [a.id for a in cfg.agencies] == ["water"] and cfg.followup.effect_days == 7
    run_db(database_url, _seed)
    run_db(database_url, seed_incident, "W1")
    with pytest.raises(QingzhiError, match="unknown agency 'utilities': one of water"):
        run_db(database_url, lambda c: incident_actions.divert(LEAD, c, "W1", agency="utilities", reason="停水"))
    run_db(database_url, lambda c: incident_actions.divert(LEAD, c, "W1", agency="water", reason="停水"))


def test_hostile_grid_files_are_refused_whole_or_stored_clean(database_url: str) -> None:
    run_db(database_url, _seed)
    first = GRIDS["features"][0]
    nan_ring = {"type": "Polygon", "coordinates": [[[float("nan"), LAT], [LON, LAT + 0.01], [LON + 0.01, LAT],
                                                    [float("nan"), LAT]]]}
    for bad, why in (({**first, "properties": {**first["properties"], "name": "a\x00b"}}, "'name' holds control"),
                     ({**first, "properties": {**first["properties"], "officer": "\x1b[31m王"}}, "'officer' holds"),
                     ({**first, "geometry": nan_ring}, "bad geometry")):
        with pytest.raises(QingzhiError, match=why):  # once an asyncpg / GEOS traceback
            run_db(database_url, lambda c: grids.load_grids(LEAD, c, "S1", {"type": "FeatureCollection",
                                                                            "features": [bad]}))
    junk = {**first, "geometry": {**first["geometry"], "junk": "\x00"}}  # jsonb cannot hold \u0000
    assert run_db(database_url, lambda c: grids.load_grids(LEAD, c, "S1", {"type": "FeatureCollection",
                                                                           "features": [junk]})) == 1
    assert set(run_db(database_url, grids.grids_geojson)["features"][0]["geometry"]) == {"type", "coordinates"}
