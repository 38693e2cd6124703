"""Recommendation ranking and response-time percentiles (repeat flags and tasks: test_repeats.py)."""

from __future__ import annotations

import datetime as dt
import time

import asyncpg
import pytest

from qingzhi.core.dispatch_config import DispatchConfig
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
