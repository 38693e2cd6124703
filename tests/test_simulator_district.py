"""The simulated district: deterministic, jurisdictions and zones tile it, units stay on their roads and zones."""

from __future__ import annotations

import json

import numpy as np
import pytest
from shapely import STRtree
from shapely.geometry import LineString, Point
from shapely.ops import unary_union

from qingzhi.errors import QingzhiError
from qingzhi.simulator.district import build_district
from qingzhi.simulator.fleet import KINDS, Fleet, roster

CENTER = (30.2741, 120.1551)


@pytest.fixture(scope="module")
def district():
    return build_district(7, CENTER, 4)


def test_same_seed_same_district_and_roster() -> None:
    a, b, c = build_district(3, CENTER, 5), build_district(3, CENTER, 5), build_district(4, CENTER, 5)
    assert [s.id for s in a.stations] == [s.id for s in b.stations]
    assert all(s.area.equals_exact(t.area, 1e-9) for s, t in zip(a.stations, b.stations))
    assert np.array_equal(a.roads.xy, b.roads.xy)
    assert [z.id for z in a.zones] == [z.id for z in b.zones]
    assert roster(a, 40, np.random.default_rng(1)) == roster(b, 40, np.random.default_rng(1))
    assert not np.array_equal(a.roads.xy[:50], c.roads.xy[:50])
    specs = roster(a, 15, np.random.default_rng(1))
    fa, fb = Fleet(a, specs, np.random.default_rng(2), 3.0), Fleet(b, specs, np.random.default_rng(2), 3.0)
    for k in range(1, 200):
        for ua, ub in zip(fa.units.values(), fb.units.values()):
            assert fa.step(ua, k * 5.0, 5.0) == fb.step(ub, k * 5.0, 5.0) and (ua.x, ua.y) == (ub.x, ub.y)


def test_jurisdictions_tile_the_district(district) -> None:
    areas = [s.area for s in district.stations]
    assert len(areas) == 4
    union = unary_union(areas)
    assert union.symmetric_difference(district.boundary).area < 1e-6 * district.boundary.area
    overlap = sum(a.area for a in areas) - union.area
    assert overlap < 1e-6 * district.boundary.area
    for st in district.stations:
        assert st.area.contains(Point(st.x, st.y))  # the station sits in its own jurisdiction


def test_zones_tile_each_jurisdiction(district) -> None:
    for st in district.stations:
        zones = [z for z in district.zones if z.station == st.id]
        assert 4 <= len(zones) <= 8
        union = unary_union([z.area for z in zones])
        assert union.symmetric_difference(st.area).area < 1e-6 * st.area.area
        assert sum(z.area.area for z in zones) - union.area < 1e-6 * st.area.area
        assert all(len(z.nodes) >= 2 for z in zones)  # every beat has roads to patrol


def test_roster_sizes_and_kinds(district) -> None:
    specs = roster(district, 300, np.random.default_rng(0))
    assert len(specs) == 300 and len({s.id for s in specs}) == 300
    kinds = {k: sum(s.kind == k for s in specs) / 300 for k in KINDS}
    assert all(abs(kinds[k] - KINDS[k][0]) < 0.1 for k in KINDS)
    zone_station = {z.id: z.station for z in district.zones}
    assert all(zone_station[s.zone] == s.station for s in specs)


def test_patrolling_units_stay_on_roads_inside_their_zones(district) -> None:
    specs = roster(district, 60, np.random.default_rng(0))
    fleet = Fleet(district, specs, np.random.default_rng(5), rate=3.0)
    xy, edges = district.roads.xy, district.roads.edges
    segments = [LineString([tuple(xy[a]), tuple(xy[b])]) for a, b in edges]
    index = STRtree(segments)
    zones = {z.id: z.area for z in district.zones}
    moved = {u: 0.0 for u in fleet.units}
    sim, seen = 0.0, []
    for _ in range(360):  # an hour of simulated time in 10 s steps
        sim += 10.0
        for uid, u in fleet.units.items():
            before = (u.x, u.y)
            seen += [p["status"] for kind, p in fleet.step(u, sim, 10.0) if kind == "status"]
            moved[uid] += float(np.hypot(u.x - before[0], u.y - before[1]))
            here = Point(u.x, u.y)
            assert segments[index.nearest(here)].distance(here) < 0.5, uid
            assert zones[u.spec.zone].buffer(0.5).covers(Point(u.x, u.y)), uid
    assert seen.count("available") > 20 and seen.count("patrolling") > 20  # stops, then on patrol again
    by_kind = {k: np.mean([moved[s.id] for s in specs if s.kind == k]) for k in KINDS}
    assert by_kind["car"] > by_kind["ebike"] > by_kind["foot"] > 500  # kind-typical speeds, all on the move


def test_dispatch_drives_to_the_scene_then_back_to_available(district) -> None:
    specs = roster(district, 10, np.random.default_rng(0))
    fleet = Fleet(district, specs, np.random.default_rng(5), rate=3.0)
    u = next(v for v in fleet.units.values() if v.spec.kind == "car")
    target = district.roads.xy[district.roads.nearest(u.x + 2000, u.y + 1500)]
    events = fleet.dispatch(u, "J1", float(target[0]), float(target[1]))
    assert events == [("status", {"status": "en_route", "incident": "J1"})]
    seen, sim = [], 0.0
    while sim < 4 * 3600 and u.status != "patrolling":
        sim += 5.0
        seen += [p.get("status") or p.get("state") for _, p in fleet.step(u, sim, 5.0)]
    assert seen[:2] == ["on_scene", "recording"] or seen[:2] == ["on_scene", "streaming"]
    assert seen.index("busy") < seen.index("available")


def test_roads_from_geojson(tmp_path) -> None:
    lon0, lat0 = CENTER[1], CENTER[0]
    grid = []
    for i in range(6):  # a 6 × 6 grid of ~500 m blocks as LineStrings
        grid.append({"type": "Feature", "properties": {"name": f"东西{i}路"}, "geometry": {"type": "LineString",
                     "coordinates": [[lon0 + k * 0.005, lat0 + i * 0.0045] for k in range(6)]}})
        grid.append({"type": "Feature", "properties": {"name": f"南北{i}街"}, "geometry": {"type": "LineString",
                     "coordinates": [[lon0 + i * 0.005, lat0 + k * 0.0045] for k in range(6)]}})
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": grid}))
    d = build_district(1, CENTER, 2, path)
    assert len(d.roads.xy) == 36 and len(d.roads.edges) == 60
    assert unary_union([s.area for s in d.stations]).symmetric_difference(d.boundary).area < 1e-3 * d.boundary.area
    assert {d.roads.street(n)[-1] for n in range(36)} <= {"路", "街"}
    (tmp_path / "bad.geojson").write_text("{not json")
    with pytest.raises(QingzhiError, match="cannot read road network"):
        build_district(1, CENTER, 2, tmp_path / "bad.geojson")
    (tmp_path / "points.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [lon0, lat0]}}]}))
    with pytest.raises(QingzhiError, match="fewer than 3 road segments"):
        build_district(1, CENTER, 2, tmp_path / "points.geojson")


def test_terminals_lose_signal_go_offline_and_cameras_fail(district) -> None:
    """Device reports over simulated wall time, with the rare events made common so that each is seen."""
    specs = roster(district, 20, np.random.default_rng(0))
    fleet = Fleet(district, specs, np.random.default_rng(3), rate=3.0, signal_loss_p=0.02, offline_p=0.01,
                  cam_fault_p=0.01)
    reports: dict[str, list[tuple[float, str, object]]] = {uid: [] for uid in fleet.units}
    for k in range(4000):  # 4000 s of wall time in 1 s steps
        wall = 1_800_000_000.0 + k
        for uid, u in fleet.units.items():
            fleet.step(u, float(k), 1.0)
            reports[uid] += [(wall, kind, p) for kind, p in fleet.devices(u, wall)]
    arrays = [p for r in reports.values() for _, kind, p in r if kind == "gps" and isinstance(p, list)]
    assert arrays and all(len(a) >= 2 and [f["ts"] for f in a] == sorted(f["ts"] for f in a) for a in arrays)
    for uid, r in reports.items():
        fixes = [p["ts"] for _, kind, ps in r if kind == "gps" for p in (ps if isinstance(ps, list) else [ps])]
        # none twice; the only long gaps are offline spells (at most 600 s): a signal loss delays fixes, loses none
        assert len(fixes) == len(set(fixes)) and max(np.diff(sorted(fixes))) < 605_000
    offline = [(uid, i) for uid, r in reports.items() for i, (_, kind, p) in enumerate(r)
               if kind == "status" and p == {"status": "offline"}]
    assert offline
    for uid, i in offline:  # silent until it comes back with its status
        later = reports[uid][i + 1:]
        if later:
            assert later[0][1] == "status" and later[0][2]["status"] != "offline"
    cams = [p["state"] for r in reports.values() for _, kind, p in r if kind == "cam"]
    assert "fault" in cams and cams.count("standby") > cams.count("fault")


def test_recall_waits_at_the_station_and_patrol_moves_to_the_zone(district) -> None:
    specs = roster(district, 10, np.random.default_rng(0))
    fleet = Fleet(district, specs, np.random.default_rng(5), rate=3.0)
    u = next(v for v in fleet.units.values() if v.spec.kind == "car")
    station = next(s for s in district.stations if s.id == u.spec.station)
    assert fleet.recall(u) == [("status", {"status": "available"})]
    for k in range(1, 1441):  # four hours in 10 s steps: it drives there, then stays
        assert fleet.step(u, k * 10.0, 10.0) == []
    assert np.hypot(u.x - station.x, u.y - station.y) < 1.0 and u.status == "available" and u.speed == 0
    other = next(z for z in district.zones if z.id != u.spec.zone)
    assert fleet.patrol(u, other.id, None, None) == [("status", {"status": "patrolling"})]
    for k in range(1441, 1441 + 2160):  # six hours: it reaches the zone and then patrols inside it
        fleet.step(u, k * 10.0, 10.0)
    assert other.area.buffer(1.0).contains(Point(u.x, u.y)) and u.zone is other
