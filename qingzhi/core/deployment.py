"""The redeployment plan (动态布警): which available units move to which zones so that every zone
reaches its minimum with the least total travel time, solved exactly as a min-cost flow (OR-Tools).

The network: source → each zone with a surplus (capacity: units above its own minimum, so no
zone is ever left below its minimum to fill another) → each of its movable units (capacity 1) →
each zone short of its minimum that the unit may serve (cost: ETA in deciseconds; same station
unless the plan allows crossing) → sink (capacity: the zone's shortfall). Units outside every zone
are free to move. A max-flow of min cost fills as many missing places as can be filled and, among
those plans, travels least; what is left is reported as shortfalls. Only units that are available or
patrolling enter the network: en-route, on-scene and busy units are never moved.

Hotspots (the three-highs cells a level asks to be visited) are further receivers needing one unit
each, fed by the same movable units under the same station rule. Zone minimums keep priority: a move
to a hotspot costs its ETA plus a penalty larger than any plan's total travel, so among the maximum
flows the cheapest one fills as many zone places as any flow can (the filled targets of a flow form a
matroid, so a maximum flow exists that also fills the most zone places) and only then travels least.
A unit inside a zone at its minimum is not sent even to a hotspot in that same zone (conservative:
its surplus capacity is the only way out of a zone).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow

COST_SCALE = 10           # costs are integer deciseconds


@dataclass(frozen=True)
class Problem:
    """One planning instance as arrays. Zones are 0…Z-1; a unit's `zone` is −1 when it is in none.

    `eta_s[u, z]` is unit u's travel time to zone z in seconds (inf: it may not go there)."""

    unit_zone: np.ndarray        # (U,) int
    unit_station: np.ndarray     # (U,) int
    zone_station: np.ndarray     # (Z,) int
    need: np.ndarray             # (Z,) int: the zone's minimum
    eta_s: np.ndarray            # (U, Z) float
    allow_cross_station: bool = False
    spot_station: np.ndarray = field(default_factory=lambda: np.empty(0, int))   # (H,) int: each hotspot's station
    spot_eta_s: np.ndarray | None = None     # (U, H) float: travel to each hotspot (inf: may not go)

    @property
    def have(self) -> np.ndarray:
        """Units counted in each zone now."""
        inside = self.unit_zone[self.unit_zone >= 0]
        return np.bincount(inside, minlength=len(self.need))


@dataclass
class Solution:
    """Moves as (unit index, zone index, eta_s) and to hotspots as (unit index, hotspot index, eta_s);
    what stays short per zone and which hotspots stay uncovered; totals (travel over both kinds)."""

    moves: list[tuple[int, int, float]] = field(default_factory=list)
    short: dict[int, int] = field(default_factory=dict)     # zone index → places still missing
    spot_moves: list[tuple[int, int, float]] = field(default_factory=list)
    spot_short: list[int] = field(default_factory=list)     # hotspot indices still uncovered
    total_eta_s: float = 0.0
    solve_ms: float = 0.0

    @property
    def unmet(self) -> int:
        """Missing places over all zones after the moves."""
        return sum(self.short.values())


def candidate_arcs(p: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(movable units, surplus per zone, deficit per zone, arcs as (unit, zone) index pairs) of a problem:
    the rules of who may move where, shared by the solver, the greedy baseline and the LP check."""
    have = p.have
    surplus = np.maximum(have - p.need, 0)
    deficit = np.maximum(p.need - have, 0)
    src = p.unit_zone
    movable = np.flatnonzero((src < 0) | (surplus[np.maximum(src, 0)] > 0))
    return movable, surplus, deficit, _arcs(p, movable, np.flatnonzero(deficit > 0), p.eta_s, p.zone_station)


def spot_arcs(p: Problem, movable: np.ndarray) -> np.ndarray:
    """(unit, hotspot) index pairs: the same movable units and station rule as for zones."""
    if p.spot_eta_s is None:
        return np.empty((0, 2), int)
    return _arcs(p, movable, np.arange(len(p.spot_station)), p.spot_eta_s, p.spot_station)


def _arcs(p: Problem, movable: np.ndarray, targets: np.ndarray, eta_s: np.ndarray,
          target_station: np.ndarray) -> np.ndarray:
    if len(movable) == 0 or len(targets) == 0:
        return np.empty((0, 2), int)
    ok = np.isfinite(eta_s[np.ix_(movable, targets)])
    if not p.allow_cross_station:
        ok &= p.unit_station[movable][:, None] == target_station[targets][None, :]
    ui, ti = np.nonzero(ok)
    return np.column_stack([movable[ui], targets[ti]])


def solve(p: Problem) -> Solution:
    """The min-cost max-flow plan of a problem: zone places first, then hotspots, least travel."""
    t0 = time.perf_counter()
    movable, surplus, deficit, zarcs = candidate_arcs(p)
    sarcs = spot_arcs(p, movable)
    n_zone, n_spot = len(p.need), len(p.spot_station)
    out = Solution()
    # receivers: zones 0…Z-1, then hotspots Z…Z+H-1 (capacity 1 each)
    arcs = np.concatenate([zarcs, sarcs + [0, n_zone]])
    if len(arcs) == 0:
        out.short = {int(z): int(d) for z, d in enumerate(deficit) if d > 0}
        out.spot_short = list(range(n_spot))
        out.solve_ms = (time.perf_counter() - t0) * 1000
        return out
    eta = np.concatenate([p.eta_s[zarcs[:, 0], zarcs[:, 1]],
                          p.spot_eta_s[sarcs[:, 0], sarcs[:, 1]] if len(sarcs) else np.empty(0)])
    cost = np.rint(eta * COST_SCALE).astype(np.int64)
    if len(sarcs):
        # more than any flow's total travel: one zone place outweighs every hotspot saving
        cost[len(zarcs):] += int(cost.max()) * min(len(arcs), int(deficit.sum()) + n_spot) + 1
    recv_cap = np.concatenate([deficit, np.ones(n_spot, int)])
    # nodes: 0 source, 1 sink, 2…2+Z-1 zones as suppliers, then receivers, then units
    supply_node = 2 + np.arange(n_zone)
    recv_node = 2 + n_zone + np.arange(n_zone + n_spot)
    used_units = np.unique(arcs[:, 0])
    unit_node = np.full(len(p.unit_zone), -1)
    unit_node[used_units] = 2 + 2 * n_zone + n_spot + np.arange(len(used_units))
    src_zone = p.unit_zone[used_units]
    free = src_zone < 0
    givers = np.unique(src_zone[~free])
    takers = np.unique(arcs[:, 1])
    tails = np.concatenate([
        np.zeros(len(givers), int), supply_node[src_zone[~free]], np.zeros(int(free.sum()), int),
        unit_node[arcs[:, 0]], recv_node[takers]])
    heads = np.concatenate([
        supply_node[givers], unit_node[used_units[~free]], unit_node[used_units[free]],
        recv_node[arcs[:, 1]], np.ones(len(takers), int)])
    caps = np.concatenate([
        surplus[givers], np.ones(int((~free).sum()), int), np.ones(int(free.sum()), int),
        np.ones(len(arcs), int), recv_cap[takers]])
    costs = np.concatenate([np.zeros(len(givers) + len(used_units), int), cost, np.zeros(len(takers), int)])
    mcf = min_cost_flow.SimpleMinCostFlow()
    arc_ids = mcf.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32), heads.astype(np.int32),
                                                       caps.astype(np.int64), costs.astype(np.int64))
    total = int(recv_cap[takers].sum())
    mcf.set_nodes_supplies(np.array([0, 1], np.int32), np.array([total, -total], np.int64))
    status = mcf.solve_max_flow_with_min_cost()
    if status != mcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    first_arc = len(givers) + len(used_units)
    flows = mcf.flows(arc_ids[first_arc:first_arc + len(arcs)])
    chosen, chosen_eta = arcs[flows > 0], eta[flows > 0]
    to_zone = chosen[:, 1] < n_zone
    filled = np.bincount(chosen[to_zone, 1], minlength=n_zone)
    out.moves = [(int(u), int(z), float(e)) for (u, z), e in zip(chosen[to_zone], chosen_eta[to_zone])]
    out.spot_moves = [(int(u), int(h) - n_zone, float(e)) for (u, h), e in zip(chosen[~to_zone], chosen_eta[~to_zone])]
    covered = {h for _, h, _ in out.spot_moves}
    out.spot_short = [h for h in range(n_spot) if h not in covered]
    out.total_eta_s = float(chosen_eta.sum())
    out.short = {int(z): int(d) for z, d in enumerate(deficit - filled) if d > 0}
    out.solve_ms = (time.perf_counter() - t0) * 1000
    return out
