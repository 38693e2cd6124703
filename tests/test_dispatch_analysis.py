"""Recommendation ranking, repeat-incident flags, follow-up tasks and response-time percentiles."""

from __future__ import annotations

import datetime as dt
import time

import asyncpg
import pytest

from dashboard.dispatch import repeats
from qingzhi.core.actor import Actor
from qingzhi.core.dispatch_config import DispatchConfig
from qingzhi.core.followups import advance_followup, create_followup
from qingzhi.core.response_times import incident_times, response_times
from dashboard.db import Database
from dashboard.recommend import FleetCache, recommend
from dispatch_fixtures import CENTER, run_db, seed_incident, seed_station, seed_unit
from qingzhi.errors import QingzhiError

CFG = DispatchConfig()
LAT, LON = CENTER
KM_LAT = 1 / 111.2  # degrees of latitude per km


def test_recommend_ranks_by_eta_and_skips_unavailable_lost_stale(database_url: str) -> None:
    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        await seed_unit(conn, "FOOT_NEAR", LAT + 0.5 * KM_LAT, LON, kind="foot")  # 0.5 km at 5 km/h: 360 s
        await seed_unit(conn, "CAR_2KM", LAT + 2 * KM_LAT, LON, kind="car")  # 2 km at 40 km/h: 180 s
        await seed_unit(conn, "EBIKE_1KM", LAT - 1.2 * KM_LAT, LON, kind="ebike", status="patrolling")  # 216 s
        await seed_unit(conn, "CAR_5KM", LAT + 5 * KM_LAT, LON, kind="car", cam="recording")  # 450 s
        await seed_unit(conn, "BUSY", LAT, LON, status="busy")
        await seed_unit(conn, "ENROUTE", LAT, LON, status="en_route")
        await seed_unit(conn, "OFF", LAT, LON, status="off_duty")
        await seed_unit(conn, "OFFLINE", LAT, LON, status="offline")
        await seed_unit(conn, "STALE", LAT, LON, fix_age_s=120)
        await seed_unit(conn, "LOST", LAT, LON, fix_age_s=3600)

    run_db(database_url, seed)
    db = Database(database_url)
    try:
        fleet = FleetCache().get(db)
        got = recommend(fleet, LAT, LON, cfg=CFG, now=time.time(), stale_after_s=60, k=10)
    finally:
        db.close()
    assert [u["id"] for u in got] == ["CAR_2KM", "EBIKE_1KM", "FOOT_NEAR", "CAR_5KM"]
    assert got[0]["distance_m"] == pytest.approx(2000, rel=0.01)
    assert got[0]["eta_s"] == pytest.approx(2000 / (40 / 3.6), rel=0.01)
    assert got[1]["status"] == "patrolling" and got[3]["cam"] == "recording"
    assert [u["id"] for u in recommend(fleet, LAT, LON, cfg=CFG, now=time.time(), stale_after_s=60, k=2,
                                       exclude=["CAR_2KM"])] == ["EBIKE_1KM", "FOOT_NEAR"]


def test_fleet_cache_reads_only_changes_and_sees_status_updates(database_url: str) -> None:
    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        for i in range(50):
            await seed_unit(conn, f"U{i:02d}", LAT + i * 0.001, LON)

    run_db(database_url, seed)
    db = Database(database_url)
    cache = FleetCache()
    try:
        assert len(cache.get(db).ids) == 50
        db.run(lambda c: c.execute("UPDATE units SET status = 'busy', version = nextval('units_version_seq') WHERE id = 'U00'"))
        fleet = cache.get(db)
        got = recommend(fleet, LAT, LON, cfg=CFG, now=time.time(), stale_after_s=60, k=1)
    finally:
        db.close()
    assert len(fleet.ids) == 50 and got[0]["id"] == "U01"


def _days_ago(d: float, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=d)


def test_repeat_flags_fire_on_crafted_data(database_url: str) -> None:
    now = dt.datetime.now(dt.UTC)

    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        n = 0
        for d in (1, 3, 9, 20):  # one caller four times in 30 days
            n += 1
            await seed_incident(conn, f"C{n}", ts=_days_ago(d, now), caller_hash="a" * 64,
                                lat=LAT + n * 0.01, lon=LON + n * 0.01, type=f"misc.t{n}")
        for d in range(6):  # one doorway six times
            await seed_incident(conn, f"P{d}", ts=_days_ago(d + 0.5, now), lat=31.0, lon=121.0, type=f"noise.k{d}")
        for i in range(9):  # ebike theft surges this week in S1: 9 against ~1 a week before
            await seed_incident(conn, f"S{i}", ts=_days_ago(i * 0.7, now), type="theft.ebike",
                                lat=LAT + 0.02 * (i % 5) - 0.05, lon=LON - 0.02 * (i // 5) - 0.05)
        for w in range(1, 9):
            await seed_incident(conn, f"B{w}", ts=_days_ago(7 * w + 2, now), type="theft.ebike",
                                lat=LAT + 0.03 * w, lon=LON + 0.1)

    run_db(database_url, seed)
    flags = run_db(database_url, repeats.repeat_flags, CFG, now=now)
    kinds = {(f["kind"], f["key"]): f for f in flags}
    assert ("caller", "caller:" + "a" * 16) in kinds
    assert sorted(kinds[("caller", "caller:" + "a" * 16)]["incidents"]) == ["C1", "C2", "C3", "C4"]
    place = [f for f in flags if f["kind"] == "place"]
    assert len(place) == 1 and sorted(place[0]["incidents"]) == [f"P{d}" for d in range(6)]
    assert place[0]["label"] == "文三路 90 号"  # named by the address callers gave, not the H3 cell
    surge = [f for f in flags if f["kind"] == "surge"]
    assert [(f["key"], f["count"], f["baseline"]) for f in surge] == [("surge:S1:theft.ebike", 9, 1.0)]
    assert len(flags) == 3

    task = run_db(database_url, lambda c: create_followup(Actor("lead", screen="test", role="admin"), c, place[0]))
    with pytest.raises(QingzhiError, match="already has a follow-up"):
        run_db(database_url, lambda c: create_followup(Actor("lead", screen="test", role="admin"), c, place[0]))
    with pytest.raises(QingzhiError, match="is open: next is assigned, not done"):
        run_db(database_url, lambda c: advance_followup(Actor("lead", screen="t", role="admin"), c, task, "done", result="x"))
    with pytest.raises(QingzhiError, match="name the community officer"):
        run_db(database_url, lambda c: advance_followup(Actor("lead", screen="t", role="admin"), c, task, "assigned", officer=" "))
    run_db(database_url, lambda c: advance_followup(Actor("lead", screen="t", role="admin"), c, task, "assigned", officer="社区民警 王"))
    run_db(database_url, lambda c: advance_followup(Actor("王", screen="t", role="admin"), c, task, "done", result="加装路灯"))
    run_db(database_url, lambda c: advance_followup(Actor("lead", screen="t", role="admin"), c, task, "reviewed", satisfaction=4))
    done = run_db(database_url, repeats.followups, include_reviewed=True)
    assert [(t["state"], t["officer"], t["result"], t["satisfaction"]) for t in done] == [("reviewed", "社区民警 王", "加装路灯", 4)]
    flags = run_db(database_url, repeats.repeat_flags, CFG, now=now)
    assert all(f["task"] is None for f in flags)  # reviewed: a new task may be made


def test_repeat_flags_stay_silent_on_uniform_data(database_url: str) -> None:
    now = dt.datetime.now(dt.UTC)
    types = ["theft.ebike", "dispute.family", "traffic.accident", "fraud.phone"]

    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        n = 0
        for day in range(63):  # nine weeks, each type once every two days, each call its own caller and place
            for k, typ in enumerate(types):
                if (day + k) % 2:
                    continue
                n += 1
                await seed_incident(conn, f"U{n}", ts=_days_ago(day + 0.3, now), type=typ, caller_hash=f"{n:064x}",
                                    lat=LAT + (n % 40) * 0.004, lon=LON + (n // 40) * 0.004)

    run_db(database_url, seed)
    assert run_db(database_url, repeats.repeat_flags, CFG, now=now) == []


def test_response_time_percentiles_hand_checked(database_url: str) -> None:
    base = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
    # received -> assigned: 60, 120, 180, 240, 300 s; assigned -> on scene: 300 s each
    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        for i, gap in enumerate((60, 120, 180, 240, 300)):
            a = base + dt.timedelta(seconds=gap)
            await seed_incident(conn, f"R{i}", ts=base, priority=1 if i < 2 else 2, state="handled",
                                assigned_at=a, on_scene_at=a + dt.timedelta(seconds=300),
                                handled_at=a + dt.timedelta(seconds=900))
        await seed_incident(conn, "OPEN", ts=base, priority=1)  # no steps yet: counted, no intervals
        await seed_incident(conn, "DUP", ts=base, priority=1, state="merged", assigned_at=base)  # left out

    run_db(database_url, seed)
    since, until = base - dt.timedelta(hours=1), base + dt.timedelta(hours=1)
    [all_] = run_db(database_url, response_times, since=since, until=until, by="all")
    assert all_["incidents"] == 6 and all_["received_assigned_n"] == 5
    assert all_["received_assigned_p50"] == 180 and all_["received_assigned_p90"] == pytest.approx(276)
    assert all_["assigned_on_scene_p50"] == 300 and all_["received_on_scene_p90"] == pytest.approx(576)
    assert all_["on_scene_handled_p50"] == 600
    by_prio = run_db(database_url, response_times, since=since, until=until, by="priority")
    assert [(r["grp"], r["incidents"], r["received_assigned_p50"]) for r in by_prio] == [("1", 3, 90), ("2", 3, 240)]
    [hour] = run_db(database_url, response_times, since=since, until=until, by="hour", tz="Asia/Shanghai")
    assert hour["grp"] == "09"
    stations = {r["station"] for r in run_db(database_url, lambda c: c.fetch("SELECT DISTINCT station FROM incidents"))}
    [one] = stations
    assert run_db(database_url, response_times, since=since, until=until, by="hour", stations=[one])[0]["incidents"] == 6
    assert run_db(database_url, response_times, since=since, until=until, stations=["ELSEWHERE"]) == []  # scoped
    with pytest.raises(QingzhiError, match="cannot group"):
        run_db(database_url, response_times, since=since, until=until, by="weekday; drop table x")
    assert incident_times({"ts": base, "assigned_at": base + dt.timedelta(seconds=42)})["received_assigned"] == 42


def test_road_network_changes_the_ranking_where_a_river_is_in_the_way(database_url: str, tmp_path) -> None:
    import json

    from qingzhi.core.roads import road_times

    lat0, lon0 = LAT, LON
    south, east = lat0 - 0.009, lon0 + 0.0031  # 1 km south to the bridge, 300 m across
    roads = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "north road"},
         "geometry": {"type": "LineString", "coordinates": [[lon0, lat0], [lon0, lat0 + 0.0072]]}},
        {"type": "Feature", "properties": {"name": "round by the bridge"},
         "geometry": {"type": "LineString", "coordinates": [[lon0, lat0], [lon0, south], [east, south], [east, lat0]]}},
    ]}
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps(roads))

    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        await seed_unit(conn, "ACROSS_RIVER", lat0, east)  # 300 m as the crow flies, 2.3 km by road
        await seed_unit(conn, "UP_THE_ROAD", lat0 + 0.0072, lon0)  # 800 m, straight up the road
        await seed_unit(conn, "FAR", lat0 + 0.05, lon0 - 0.05)

    run_db(database_url, seed)
    db = Database(database_url)
    try:
        fleet = FleetCache().get(db)
    finally:
        db.close()
    kw = {"cfg": CFG, "now": time.time(), "stale_after_s": 60, "k": 2}
    straight = recommend(fleet, lat0, lon0, **kw)
    assert [u["id"] for u in straight] == ["ACROSS_RIVER", "UP_THE_ROAD"]
    net = road_times("roads.geojson", (lat0, lon0), str(tmp_path))  # a name in the data directory
    by_road = recommend(fleet, lat0, lon0, roads=net, **kw)
    assert [u["id"] for u in by_road] == ["UP_THE_ROAD", "ACROSS_RIVER"]
    assert by_road[0]["distance_m"] == pytest.approx(800, rel=0.02)
    assert by_road[1]["distance_m"] == pytest.approx(2300, rel=0.03)
    assert by_road[1]["eta_s"] == pytest.approx(by_road[1]["distance_m"] / (40 / 3.6))
    assert road_times("missing.geojson", (lat0, lon0), str(tmp_path)) is None
    assert road_times(str(path), (lat0, lon0), str(tmp_path / "elsewhere")) is None  # outside the data directory
