"""The redeployment solver: minimums met when feasible, shortfalls when not, each unit once, station
boundaries, no zone left below its own minimum, never worse than greedy, equal to an independent LP."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from bench.plan import greedy, instance
from qingzhi.core.deployment import Problem, candidate_arcs, solve


def _check_rules(p: Problem, moves: list[tuple[int, int, float]]) -> None:
    units = [u for u, _, _ in moves]
    assert len(units) == len(set(units)), "a unit assigned twice"
    have = p.have.copy()
    for u, z, _ in moves:
        assert p.allow_cross_station or p.unit_station[u] == p.zone_station[z]
        assert np.isfinite(p.eta_s[u, z])
        src = p.unit_zone[u]
        assert src != z
        have[z] += 1
        if src >= 0:
            have[src] -= 1
    before = p.have
    # a zone that had its minimum keeps it; a short zone only gains, never beyond its minimum
    assert np.all(have[before >= p.need] >= p.need[before >= p.need])
    assert np.all(have[before < p.need] <= p.need[before < p.need])


def test_minimums_met_when_feasible() -> None:
    # zone 0 has 4 units (needs 1), zones 1 and 2 need 2 each and have 0 and 1
    p = Problem(np.array([0, 0, 0, 0, 2]), np.zeros(5, int), np.zeros(3, int), np.array([1, 2, 2]),
                np.array([[10, 50, 90], [11, 40, 95], [12, 60, 20], [13, 70, 30], [5, 5, 5]], float))
    s = solve(p)
    _check_rules(p, s.moves)
    assert s.unmet == 0 and sorted((u, z) for u, z, _ in s.moves) == [(0, 1), (1, 1), (2, 2)]
    assert s.total_eta_s == 50 + 40 + 20


def test_shortfalls_reported_and_no_zone_left_below_its_minimum() -> None:
    # zone 0 has 2 units and needs 2: it gives none; zone 1 needs 3 and has 1 unit outside any zone to get
    p = Problem(np.array([0, 0, -1]), np.zeros(3, int), np.zeros(2, int), np.array([2, 3]),
                np.array([[1, 1], [1, 1], [9, 9]], float))
    s = solve(p)
    assert [(u, z) for u, z, _ in s.moves] == [(2, 1)]
    assert s.short == {1: 2} and s.unmet == 2


def test_station_boundaries_hold_unless_crossing_is_allowed() -> None:
    args = (np.array([0, 0, 0]), np.array([0, 0, 0]), np.array([0, 1]), np.array([1, 1]),
            np.array([[1, 5], [1, 5], [1, 5]], float))
    kept = solve(Problem(*args))
    assert kept.moves == [] and kept.short == {1: 1}
    crossed = solve(Problem(*args, allow_cross_station=True))
    assert len(crossed.moves) == 1 and crossed.moves[0][1] == 1 and crossed.unmet == 0


@pytest.mark.parametrize("seed", range(12))
def test_never_worse_than_greedy_on_random_instances(seed: int) -> None:
    p = instance(120, 25, 3, seed, (1, 6))
    s, g = solve(p), greedy(p)
    _check_rules(p, s.moves)
    _check_rules(p, g.moves)
    assert s.unmet <= g.unmet
    if s.unmet == g.unmet:
        assert s.total_eta_s <= g.total_eta_s + 1e-6


def _lp_optimum(p: Problem) -> tuple[int, float]:
    """An independent formulation: one variable per allowed (unit, zone) pair, maximise places filled
    then minimise travel (a weight larger than any plan's travel on each place), solved by HiGHS."""
    movable, surplus, deficit, arcs = candidate_arcs(p)
    if len(arcs) == 0:
        return 0, 0.0
    cost = p.eta_s[arcs[:, 0], arcs[:, 1]]
    big = cost.sum() + 1.0
    rows, bounds = [], []
    for u in np.unique(arcs[:, 0]):                       # each unit at most once
        rows.append(arcs[:, 0] == u)
        bounds.append(1)
    for z in np.unique(arcs[:, 1]):                       # each zone at most its shortfall
        rows.append(arcs[:, 1] == z)
        bounds.append(deficit[z])
    src = p.unit_zone[arcs[:, 0]]
    for z in np.unique(src[src >= 0]):                    # each zone gives at most its surplus
        rows.append(src == z)
        bounds.append(surplus[z])
    res = linprog(cost - big, A_ub=np.array(rows, float), b_ub=np.array(bounds, float), bounds=(0, 1),
                  method="highs")
    assert res.status == 0
    x = np.rint(res.x)
    assert np.allclose(res.x, x, atol=1e-6), "the LP optimum is integral (the constraint matrix is a network's)"
    return int(x.sum()), float((x * cost).sum())


@pytest.mark.parametrize("seed", range(10))
def test_equal_to_the_lp_optimum_on_small_instances(seed: int) -> None:
    p = instance(40, 8, 2, 100 + seed, (1, 7))
    s = solve(p)
    placed, travel = _lp_optimum(p)
    assert len(s.moves) == placed
    assert s.total_eta_s == pytest.approx(travel, abs=0.1 * len(s.moves) + 1e-6)  # costs are rounded to 0.1 s
