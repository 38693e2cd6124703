"""Hotspots as redeployment targets: a hotspot gets a unit when one is spare, zone minimums always come
first, station boundaries hold, the plan equals an independent LP with hotspots, applying sends a
`patrol` to the hotspot's zone at the cell's centre, and `qingzhi plan --json` shows the hotspot moves."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing

import asyncpg
import h3
import numpy as np
import pytest
from scipy.optimize import linprog

from bench.plan import greedy, instance
from dashboard.commands import Publisher
from dispatch_fixtures import Listener, run_db, seed_unit
from duty_fixtures import HOT, seed_hotspot_district
from qingzhi.config import Settings
from qingzhi.core import levels, redeploy
from qingzhi.core.actor import Actor
from qingzhi.core.deployment import Problem, candidate_arcs, solve, spot_arcs
from qingzhi.core.dispatch_config import DispatchConfig
from qingzhi.core.response_plan import load_plan
from qingzhi.duty_report import as_text

ADMIN = Actor.person("chief", "test", role="admin")
S1_CMDR = Actor.person("li", "test", role="commander", stations=frozenset({"S1"}))
S2_CMDR = Actor.person("zhao", "test", role="commander", stations=frozenset({"S2"}))
PLAN = load_plan()
CFG = DispatchConfig()
TODAY = dt.datetime.now(dt.UTC).date()


def _spots(p: Problem, station: list[int], eta: list[list[float]]) -> Problem:
    return dataclasses.replace(p, spot_station=np.array(station, int), spot_eta_s=np.array(eta, float))


def _check(p: Problem, s: object) -> None:
    units = [u for u, _, _ in s.moves + s.spot_moves]
    assert len(units) == len(set(units)), "a unit assigned twice"
    assert len({h for _, h, _ in s.spot_moves}) == len(s.spot_moves), "a hotspot got two units"
    have = p.have.copy()
    for u, _, _ in s.spot_moves:
        if p.unit_zone[u] >= 0:
            have[p.unit_zone[u]] -= 1
    for u, z, _ in s.moves:
        have[z] += 1
        if p.unit_zone[u] >= 0:
            have[p.unit_zone[u]] -= 1
    before = p.have
    assert np.all(have[before >= p.need] >= p.need[before >= p.need]), "a zone left below its own minimum"


def test_a_hotspot_gets_a_unit_when_one_is_spare() -> None:
    # zone 0 has 3 units and needs 1, zone 1 needs 1 and has none: one to zone 1, one to the hotspot
    base = Problem(np.array([0, 0, 0]), np.zeros(3, int), np.zeros(2, int), np.array([1, 1]),
                   np.array([[5, 30], [5, 20], [5, 40]], float))
    p = _spots(base, [0], [[9], [7], [8]])
    s = solve(p)
    _check(p, s)
    assert [(u, z) for u, z, _ in s.moves] == [(1, 1)] and s.unmet == 0
    assert [(u, h) for u, h, _ in s.spot_moves] == [(2, 0)] and s.spot_short == []
    assert s.total_eta_s == 20 + 8


def test_zone_minimums_are_never_sacrificed_for_a_hotspot() -> None:
    # one free unit: the hotspot is next door (1 s), the short zone far (900 s): the zone gets it
    p = _spots(Problem(np.array([-1]), np.zeros(1, int), np.zeros(1, int), np.array([1]), np.array([[900.0]])),
               [0], [[1.0]])
    s = solve(p)
    assert [(u, z) for u, z, _ in s.moves] == [(0, 0)] and s.spot_moves == [] and s.spot_short == [0]
    # a zone exactly at its minimum gives nobody to a hotspot, however close
    at_min = _spots(Problem(np.array([0, 0]), np.zeros(2, int), np.zeros(1, int), np.array([2]),
                            np.full((2, 1), np.inf)), [0], [[1.0], [1.0]])
    assert solve(at_min).spot_moves == [] and solve(at_min).spot_short == [0]


@pytest.mark.parametrize("seed", range(8))
def test_hotspots_never_cost_a_zone_place_on_random_instances(seed: int) -> None:
    p = instance(150, 25, 3, seed, (1, 8), spots=30)
    with_spots = solve(p)
    without = solve(dataclasses.replace(p, spot_station=np.empty(0, int), spot_eta_s=None))
    _check(p, with_spots)
    assert with_spots.unmet == without.unmet
    g = greedy(p)
    _check(p, g)
    assert (with_spots.unmet, -len(with_spots.spot_moves)) <= (g.unmet, -len(g.spot_moves))


def test_station_boundaries_hold_for_hotspots() -> None:
    base = Problem(np.array([0, 0]), np.zeros(2, int), np.zeros(1, int), np.array([1]), np.full((2, 1), np.inf))
    kept = solve(_spots(base, [1], [[3.0], [4.0]]))
    assert kept.spot_moves == [] and kept.spot_short == [0]
    crossed = solve(_spots(dataclasses.replace(base, allow_cross_station=True), [1], [[3.0], [4.0]]))
    assert [(u, h) for u, h, _ in crossed.spot_moves] == [(0, 0)]


def _lp(p: Problem) -> tuple[int, int, float]:
    """An independent formulation: one variable per allowed (unit, zone) and (unit, hotspot) pair;
    maximise zone places, then hotspots, then minimise travel, by nested weights; solved by HiGHS."""
    movable, surplus, deficit, zarcs = candidate_arcs(p)
    sarcs = spot_arcs(p, movable)
    cost = np.concatenate([p.eta_s[zarcs[:, 0], zarcs[:, 1]], p.spot_eta_s[sarcs[:, 0], sarcs[:, 1]]])
    is_zone = np.arange(len(cost)) < len(zarcs)
    w_spot = cost.sum() + 1.0
    w_zone = w_spot * (len(cost) + 1)
    units = np.concatenate([zarcs[:, 0], sarcs[:, 0]])
    rows, bounds = [], []
    for u in np.unique(units):
        rows.append(units == u)
        bounds.append(1)
    for z in np.unique(zarcs[:, 1]):
        rows.append(is_zone & (np.concatenate([zarcs[:, 1], np.full(len(sarcs), -1)]) == z))
        bounds.append(deficit[z])
    for h in np.unique(sarcs[:, 1]):
        rows.append(~is_zone & (np.concatenate([np.full(len(zarcs), -1), sarcs[:, 1]]) == h))
        bounds.append(1)
    src = p.unit_zone[units]
    for z in np.unique(src[src >= 0]):
        rows.append(src == z)
        bounds.append(surplus[z])
    res = linprog(cost - np.where(is_zone, w_zone, w_spot), A_ub=np.array(rows, float),
                  b_ub=np.array(bounds, float), bounds=(0, 1), method="highs")
    assert res.status == 0
    x = np.rint(res.x)
    assert np.allclose(res.x, x, atol=1e-6)
    return int(x[is_zone].sum()), int(x[~is_zone].sum()), float((x * cost).sum())


@pytest.mark.parametrize("seed", range(8))
def test_equal_to_an_independent_lp_with_hotspots(seed: int) -> None:
    p = instance(40, 8, 2, 200 + seed, (1, 6), spots=6)
    s = solve(p)
    zones, spots, travel = _lp(p)
    assert (len(s.moves), len(s.spot_moves)) == (zones, spots)
    assert s.total_eta_s == pytest.approx(travel, abs=0.1 * (zones + spots) + 1e-6)   # costs rounded to 0.1 s


@pytest.fixture
def district(settings: Settings) -> Settings:
    """Two stations; S1's hotspot HOT lies in Z0 (four cars, raised to III: needs 1); Z2 needs 1, has none."""
    run_db(settings.database_url, seed_hotspot_district)
    return settings


@pytest.fixture
def publisher(settings: Settings) -> Iterator[Publisher]:
    """The dashboard's command publisher on the test broker."""
    with closing(Publisher(settings)) as pub:
        pub.ensure_connected()
        yield pub


def _plan(settings: Settings, actor: Actor = ADMIN, response: object = PLAN) -> redeploy.Plan:
    return run_db(settings.database_url, lambda c: redeploy.build_plan(actor, c, response=response, cfg=CFG,
                                                                       today=TODAY))


def _apply(settings: Settings, publisher: Publisher, actor: Actor, moves: list[tuple]) -> list[dict]:
    return run_db(settings.database_url, lambda c: redeploy.apply_moves(
        actor, c, moves, response=PLAN, topic_root=settings.topic_root, publish=publisher.apublish, today=TODAY))


def test_plan_sends_a_spare_unit_to_the_uncovered_hotspot(district: Settings) -> None:
    plan = _plan(district)
    spot = [m for m in plan.moves if m.hotspot]
    assert [(m.zone, m.hotspot, m.from_zone, m.level) for m in spot] == [("Z0", HOT, "Z0", "III")]
    assert h3.latlng_to_cell(spot[0].to_lat, spot[0].to_lon, 9) == HOT
    assert [m.zone for m in plan.moves if not m.hotspot] == ["Z2"] and plan.shortfalls == []
    assert plan.hotspot_shortfalls == [] and plan.as_dict()["totals"]["hotspot_moves"] == 1
    # S2's commander plans nothing for S1's hotspot
    assert not [m for m in _plan(district, S2_CMDR).moves if m.hotspot]


def test_no_hotspot_target_at_normal_duty_or_when_a_unit_stands_in_it(district: Settings) -> None:
    run_db(district.database_url, lambda c: levels.clear_level(ADMIN, c, scope="zone", target="Z0", reason="ok"))
    assert not [m for m in _plan(district).moves if m.hotspot]            # level IV plans no hotspots
    run_db(district.database_url, lambda c: levels.set_level(ADMIN, c, scope="zone", target="Z0", level="II",
                                                             reason="again"))
    lat, lon = h3.cell_to_latlng(HOT)
    run_db(district.database_url, lambda c: seed_unit(c, "F1", lat, lon, station="S1", status="patrolling"))
    plan = _plan(district)
    assert not [m for m in plan.moves if m.hotspot] and plan.hotspot_shortfalls == []


def test_zones_first_and_station_boundaries_on_the_database(district: Settings) -> None:
    # S1 has no spare car left (three of Z0's four on scene); S2's spare car may not cross
    run_db(district.database_url, lambda c: c.execute(
        "UPDATE units SET status = 'on_scene' WHERE id IN ('A2', 'A3', 'A4')"))
    plan = _plan(district)
    assert plan.moves == [] and [s.zone for s in plan.shortfalls] == ["Z2"]
    assert [(h.cell, h.zone, h.level) for h in plan.hotspot_shortfalls] == [(HOT, "Z0", "III")]
    assert f"hotspot uncovered: {HOT} in zone Z0" in as_text(plan.as_dict())
    # crossing allowed: S2's one spare car fills the short zone, not the hotspot
    crossing = _plan(district, response=PLAN.model_copy(update={"allow_cross_station": True}))
    assert [(m.unit[0], m.zone, m.hotspot) for m in crossing.moves] == [("C", "Z2", None)]
    assert len(crossing.hotspot_shortfalls) == 1


def test_applying_a_hotspot_move_sends_a_patrol_to_the_cell(district: Settings, publisher: Publisher) -> None:
    move = next(m for m in _plan(district).moves if m.hotspot)
    listener = Listener(district.mqtt_url, f"{district.topic_root}/#")
    try:
        results = _apply(district, publisher, S1_CMDR, [(move.unit, "Z0", HOT)])
        topic, payload = listener.next()
    finally:
        listener.close()
    assert results[0]["hotspot"] == HOT and results[0]["published"], results
    assert topic.endswith(f"/{move.unit}/cmd") and payload["kind"] == "patrol" and payload["zone"] == "Z0"
    assert payload["level"] == "III" and h3.latlng_to_cell(payload["lat"], payload["lon"], 9) == HOT
    assert HOT in payload["note"]

    async def check(conn: asyncpg.Connection) -> None:
        audit = await conn.fetchval("SELECT details FROM audit_log WHERE action = 'plan.move'")
        assert json.loads(audit)["hotspot"] == HOT
        # the patrol command covers the hotspot now: no further move to it
        again = await redeploy.build_plan(ADMIN, conn, response=PLAN, cfg=CFG, today=TODAY)
        assert not [m for m in again.moves if m.hotspot] and again.hotspot_shortfalls == []

    run_db(district.database_url, check)


def test_apply_refuses_bad_hotspot_moves(district: Settings, publisher: Publisher) -> None:
    bad = [("A1", "Z0", "<script>alert(1)</script>"), ("A2", "Z1", HOT), ("A3", "Z0", "8" * 10_000)]
    results = _apply(district, publisher, S1_CMDR, bad)
    assert all("does not need a unit" in r["error"] for r in results), results
    assert len(results[2]["hotspot"]) <= 64
    other = _apply(district, publisher, S2_CMDR, [("A1", "Z0", HOT), ("C1", "Z3", HOT)])
    assert "no zone" in other[0]["error"] and "does not need a unit" in other[1]["error"]
    # two units to one hotspot: the second is refused
    two = _apply(district, publisher, ADMIN, [("A1", "Z0", HOT), ("A2", "Z0", HOT)])
    assert "command" in two[0] and "does not need a unit" in two[1]["error"]
    assert run_db(district.database_url, lambda c: c.fetchval("SELECT count(*) FROM commands")) == 1


def test_plan_command_json_shows_hotspot_moves(district: Settings) -> None:
    run = subprocess.run([sys.executable, "-m", "qingzhi", "plan", "--json", "--database-url",
                          district.database_url], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert [(m["zone"], m["hotspot"]) for m in out["moves"] if m["hotspot"]] == [("Z0", HOT)]
    assert out["totals"]["hotspot_moves"] == 1 and out["hotspot_shortfalls"] == []
