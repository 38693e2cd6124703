"""The redeployment plan: OR-Tools min-cost flow against a greedy nearest-first baseline.

    python -m bench.plan [--units 2000] [--zones 300] [--stations 4] [--repeat 5] [--seed 1] [--no-db]

A random district (units and zone centres spread over 20 × 20 km, four stations, every zone's
minimum drawn 5–10 so that some stations cannot fill all of theirs): both methods get the same
instance and the same rules (qingzhi.core.deployment.candidate_arcs), and the run prints solve
time, total travel and unmet minimums for each. Also a feasible instance (minimums 1–6) on which the
solver must leave nothing unmet. Targets: under 300 ms, never more travel than greedy when both
fill as many places, never more unmet places.

Then the whole plan as the page and `qingzhi plan` make it (qingzhi.core.redeploy.build_plan: read the
zones and units, place each unit in its zone, straight-line ETAs, solve) on a fresh database on
QZ_BENCH_PG_URL with 2,000 units in 300 zones (75 stations of 4), three in five units free (the rest on
scene), a fifth of the zones (commercial, minimum 4) raised to level I.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import numpy as np

from bench.fleet import seed_district
from bench.services import admin_sql, db_url
from qingzhi.core.actor import Actor
from qingzhi.core.deployment import Problem, Solution, candidate_arcs, solve
from qingzhi.core.dispatch_config import DispatchConfig
from qingzhi.core.redeploy import build_plan
from qingzhi.core.response_plan import load_plan
from qingzhi.db import connect, migrate_url

SPEED_MS = 8.0             # ~30 km/h in town


def greedy(p: Problem) -> Solution:
    """Nearest first: take the (unit, zone) pairs by ETA and keep each that still fits the rules."""
    t0 = time.perf_counter()
    _, surplus, deficit, arcs = candidate_arcs(p)
    surplus, deficit = surplus.copy(), deficit.copy()
    out = Solution()
    cost = p.eta_s[arcs[:, 0], arcs[:, 1]] if len(arcs) else np.empty(0)
    used = np.zeros(len(p.unit_zone), bool)
    for k in np.argsort(cost, kind="stable"):
        u, z = arcs[k]
        src = p.unit_zone[u]
        if used[u] or deficit[z] == 0 or (src >= 0 and surplus[src] == 0):
            continue
        used[u] = True
        deficit[z] -= 1
        if src >= 0:
            surplus[src] -= 1
        out.moves.append((int(u), int(z), float(cost[k])))
    out.total_eta_s = float(sum(m[2] for m in out.moves))
    out.short = {int(z): int(d) for z, d in enumerate(deficit) if d > 0}
    out.solve_ms = (time.perf_counter() - t0) * 1000
    return out


def instance(units: int, zones: int, stations: int, seed: int, need: tuple[int, int]) -> Problem:
    """A random planning problem: straight-line ETAs at SPEED_MS."""
    rng = np.random.default_rng(seed)
    zone_xy = rng.uniform(0, 20_000, (zones, 2))
    zone_station = (zone_xy[:, 0] // (20_000 / stations)).astype(int)   # stations as vertical strips
    unit_zone = rng.integers(-1, zones, units)                           # some units outside every zone
    unit_xy = np.where(unit_zone[:, None] >= 0, zone_xy[np.maximum(unit_zone, 0)] + rng.normal(0, 400, (units, 2)),
                       rng.uniform(0, 20_000, (units, 2)))
    unit_station = np.where(unit_zone >= 0, zone_station[np.maximum(unit_zone, 0)], rng.integers(0, stations, units))
    eta = np.hypot(*(unit_xy[:, None, :] - zone_xy[None, :, :]).transpose(2, 0, 1)) / SPEED_MS
    return Problem(unit_zone, unit_station, zone_station, rng.integers(need[0], need[1] + 1, zones), eta)


def _row(name: str, runs: list[Solution]) -> str:
    s = runs[-1]
    ms = statistics.median(r.solve_ms for r in runs)
    return (f"  {name:<22} {ms:8.1f} ms   moves {len(s.moves):5d}   total travel {s.total_eta_s / 3600:8.2f} h"
            f"   unmet {s.unmet:4d}")


async def _whole_plan(url: str, units: int, repeat: int) -> list[tuple[float, int, int]]:
    """(ms, moves, unmet) of build_plan on a seeded district, `repeat` times."""
    conn = await connect(url)
    try:
        await seed_district(conn, units=units, stations=75, incidents=0, half_km=1.0)
        await conn.execute("UPDATE units SET status = CASE WHEN hashtext(id) % 5 < 3 THEN 'patrolling' ELSE 'on_scene' END")
        await conn.execute("UPDATE zones SET alert_level = CASE WHEN hashtext(id) % 5 = 0 THEN 1 ELSE 0 END,"
                           " zone_class = 'commercial'")
        chief, response, cfg = Actor.person("bench", "bench", role="admin"), load_plan(), DispatchConfig()
        out = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            plan = await build_plan(chief, conn, response=response, cfg=cfg)
            out.append(((time.perf_counter() - t0) * 1000, len(plan.moves), sum(s.short for s in plan.shortfalls)))
        return out
    finally:
        await conn.close()


def whole_plan(units: int, repeat: int) -> None:
    """Print build_plan's time on a fresh database (dropped afterwards)."""
    name = f"qz_bench_plan_{uuid.uuid4().hex[:8]}"
    admin_sql(f"CREATE DATABASE {name}")
    try:
        asyncio.run(migrate_url(db_url(name)))
        runs = asyncio.run(_whole_plan(db_url(name), units, repeat))
    finally:
        admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    ms = statistics.median(r[0] for r in runs)
    print(f"whole plan from the database ({units} units, 300 zones): median {ms:.0f} ms over {repeat} runs, "
          f"{runs[-1][1]} moves, {runs[-1][2]} places unmet")


def main(argv: list[str] | None = None) -> None:
    """Run both methods on the same instances and print them side by side."""
    ap = argparse.ArgumentParser(prog="python -m bench.plan")
    ap.add_argument("--units", type=int, default=2000)
    ap.add_argument("--zones", type=int, default=300)
    ap.add_argument("--stations", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-db", action="store_true", help="skip the whole-plan run on PostgreSQL")
    a = ap.parse_args(argv)
    ok = True
    for label, need in (("tight (5–10 per zone)", (5, 10)), ("feasible (1–6 per zone)", (1, 6))):
        p = instance(a.units, a.zones, a.stations, a.seed, need)
        print(f"{a.units} units × {a.zones} zones, {a.stations} stations, minimums {label}: "
              f"{int(np.maximum(p.need - p.have, 0).sum())} places missing")
        flow = [solve(p) for _ in range(a.repeat)]
        base = [greedy(p) for _ in range(a.repeat)]
        print(_row("min-cost flow (OR-Tools)", flow))
        print(_row("greedy nearest-first", base))
        f, g = flow[-1], base[-1]
        ratio = f.total_eta_s / g.total_eta_s if g.total_eta_s else 1.0
        print(f"  travel flow/greedy {ratio:.3f} (same places filled: {f.unmet == g.unmet}),"
              f" unmet flow {f.unmet} vs greedy {g.unmet}, flow time {statistics.median(r.solve_ms for r in flow):.0f} ms"
              " (target < 300 ms)")
        ok &= f.unmet <= g.unmet and (f.unmet < g.unmet or f.total_eta_s <= g.total_eta_s + 1e-6)
        ok &= statistics.median(r.solve_ms for r in flow) < 300
    if not a.no_db:
        whole_plan(a.units, a.repeat)
    print("PASS" if ok else "FAIL: a target was missed")


if __name__ == "__main__":
    main()
