"""The redeployment plan for the levels in force, read from the database, and applying it.

`build_plan` gathers the zones (their minimum at their level, from the response plan) and the units
(where each counts: the zone of its active `patrol` command, else the zone it is in), hands the
arrays to the solver (qingzhi.core.deployment) together with the hotspots that need a unit
(qingzhi.core.hotspot_targets) and names the result. `apply_moves` re-checks each
ticked move against the rules at the moment of applying (the server decides, not the page) and sends
one `patrol` command per move; `recall_units` sends `recall` when a level was lowered. Both audit
with the acting person and narrow to their stations.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg
import numpy as np
import shapely
from shapely.geometry import shape

from qingzhi.core import audit
from qingzhi.core.access import require, scope as actor_scope
from qingzhi.core.actor import Actor
from qingzhi.core.deployment import Problem, solve
from qingzhi.core.dispatch import Command, Publish, issue_command
from qingzhi.core.dispatch_config import DispatchConfig
from qingzhi.core.geo import Projection
from qingzhi.core.hotspot_targets import HotspotShortfall, SpotTarget, occupied_cells, targets
from qingzhi.core.hotspot_visits import hotspot_visits
from qingzhi.core.levels import level_name
from qingzhi.core.moves import lock_unit
from qingzhi.core.response_plan import ResponsePlan
from qingzhi.core.roads import RoadTimes
from qingzhi.core.vocab import ON_DUTY, SENDABLE
from qingzhi.errors import QingzhiError

MAX_MOVES = 5000          # one apply at most; more is a bad request, not a plan
FRESH_FIX_S = 600         # a unit without a fix this recent is not planned with

# each unit's active patrol target: its newest patrol/recall/dispatch command, if that is an unexpired patrol
_COMMITTED = """
SELECT DISTINCT ON (unit) unit, kind, zone, level, until, lat, lon FROM commands
WHERE kind IN ('patrol', 'recall', 'dispatch') AND ts > now() - interval '1 day' AND unit = ANY($1::text[])
ORDER BY unit, ts DESC"""


@dataclass(frozen=True)
class Move:
    """One unit to one zone, or to one hotspot (`hotspot`: its H3 cell) inside that zone."""

    unit: str
    station: str
    kind: str
    from_zone: str | None
    zone: str
    zone_station: str
    level: str
    eta_s: float
    lat: float
    lon: float
    to_lat: float
    to_lon: float
    hotspot: str | None = None


@dataclass(frozen=True)
class Shortfall:
    """A zone that stays below its minimum after the plan."""

    zone: str
    station: str
    need: int
    have: int
    short: int


@dataclass
class Plan:
    """The moves, what stays short, who may be recalled, totals."""

    moves: list[Move] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)
    hotspot_shortfalls: list[HotspotShortfall] = field(default_factory=list)
    recalls: list[dict[str, Any]] = field(default_factory=list)
    zones: list[dict[str, Any]] = field(default_factory=list)
    street: dict[str, Any] = field(default_factory=dict)
    total_eta_s: float = 0.0
    solve_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (for `qingzhi plan --json` and the page)."""
        return {"moves": [asdict(m) for m in self.moves], "shortfalls": [asdict(s) for s in self.shortfalls],
                "hotspot_shortfalls": [asdict(h) for h in self.hotspot_shortfalls],
                "recalls": self.recalls, "zones": self.zones, "street": self.street,
                "totals": {"moves": len(self.moves), "eta_s": round(self.total_eta_s, 1),
                           "short": sum(s.short for s in self.shortfalls),
                           "hotspot_moves": sum(m.hotspot is not None for m in self.moves),
                           "hotspots_uncovered": len(self.hotspot_shortfalls), "solve_ms": round(self.solve_ms, 1)}}


@dataclass
class State:
    """Zones and counted units of the actor's stations, and where each unit counts."""

    zones: list[asyncpg.Record]
    units: list[asyncpg.Record]
    unit_zone: np.ndarray          # index into zones, −1: in none
    need: np.ndarray
    committed: dict[str, dict[str, Any]]

    @property
    def have(self) -> np.ndarray:
        """Counted units per zone."""
        inside = self.unit_zone[self.unit_zone >= 0]
        return np.bincount(inside, minlength=len(self.zones))


def _locate(zones: list[asyncpg.Record], lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """The index of the zone each point is in (the first, where zones overlap), −1 for none."""
    where = np.full(len(lats), -1)
    for i, z in enumerate(zones):
        geo = z["boundary"] if isinstance(z["boundary"], dict) else json.loads(z["boundary"])
        inside = shapely.contains_xy(shape(geo), lons, lats) & (where < 0)
        where[inside] = i
    return where


async def load_state(actor: Actor, conn: asyncpg.Connection, response: ResponsePlan) -> State:
    """The zones and counted units the actor may plan with (available or patrolling, a counted kind,
    a recent fix)."""
    stations = actor_scope(actor)
    zones = await conn.fetch(
        """SELECT id, station, boundary, center_lat, center_lon, alert_level, min_units, zone_class FROM zones
           WHERE $1::text[] IS NULL OR station = ANY($1::text[]) ORDER BY id""", stations)
    units = await conn.fetch(
        """SELECT id, station, kind, lat, lon, status FROM units
           WHERE status = ANY($2::text[]) AND kind = ANY($3::text[]) AND lat IS NOT NULL
             AND fix_ts > now() - make_interval(secs => $4) AND ($1::text[] IS NULL OR station = ANY($1::text[]))
           ORDER BY id""", stations, list(SENDABLE), list(response.counted_kinds), float(FRESH_FIX_S))
    need = np.array([response.minimum(z["alert_level"], z["zone_class"], z["min_units"]) for z in zones], int)
    lats = np.array([u["lat"] for u in units], float)
    lons = np.array([u["lon"] for u in units], float)
    unit_zone = _locate(zones, lats, lons) if units else np.empty(0, int)
    index = {z["id"]: i for i, z in enumerate(zones)}
    committed = {}
    now = dt.datetime.now(dt.UTC)
    for c in await conn.fetch(_COMMITTED, [u["id"] for u in units]):
        if c["kind"] == "patrol" and c["zone"] in index and (c["until"] is None or c["until"] > now):
            committed[c["unit"]] = dict(c)
    for k, u in enumerate(units):
        if u["id"] in committed:
            unit_zone[k] = index[committed[u["id"]]["zone"]]
    return State(list(zones), list(units), unit_zone, need, committed)


def _travel(state: State, cfg: DispatchConfig, roads: RoadTimes | None,
            points: list[tuple[float, float]]) -> np.ndarray:
    """(units × points) seconds from each unit to each point: by road where a network is configured,
    else straight line, at the unit kind's speed."""
    eta = np.full((len(state.units), len(points)), np.inf)
    if len(state.units) == 0 or not points:
        return eta
    lats = np.array([u["lat"] for u in state.units], float)
    lons = np.array([u["lon"] for u in state.units], float)
    speed = np.array([cfg.speed_ms(u["kind"]) for u in state.units])
    proj = Projection(float(lats.mean()), float(lons.mean()))
    ux, uy = proj.to_xy(lats, lons)
    for k, (lat, lon) in enumerate(points):
        if roads is not None:
            metres = roads.distances_m(lat, lon, lats, lons)
        else:
            px, py = proj.to_xy(lat, lon)
            metres = np.hypot(ux - px, uy - py)
        eta[:, k] = metres / speed
    return eta


async def spot_targets(actor: Actor, conn: asyncpg.Connection, response: ResponsePlan, state: State,
                       today: dt.date | None = None) -> list[SpotTarget]:
    """The hotspots in the actor's stations that need a unit now (qingzhi.core.hotspot_targets)."""
    spots = await hotspot_visits(conn, response, actor_scope(actor), today or dt.datetime.now(dt.UTC).date())
    if not spots:
        return []
    zone_at = _locate(state.zones, np.array([h["lat"] for h in spots]), np.array([h["lon"] for h in spots]))
    points = [(u["lat"], u["lon"]) for u in state.units] + [(c["lat"], c["lon"]) for c in state.committed.values()]
    return targets(spots, zone_at, [z["alert_level"] for z in state.zones], occupied_cells(points), response)


async def build_plan(actor: Actor, conn: asyncpg.Connection, *, response: ResponsePlan, cfg: DispatchConfig,
                     roads: RoadTimes | None = None, today: dt.date | None = None) -> Plan:
    """The plan for the levels in force, within the actor's stations: zone minimums first, then the
    hotspots that need a unit (`today`: the local date the hotspots are ranked up to)."""
    require(actor, "duty.view")
    state = await load_state(actor, conn, response)
    lacking = np.flatnonzero(state.need > state.have)
    zone_eta = np.full((len(state.units), len(state.zones)), np.inf)
    zone_eta[:, lacking] = _travel(state, cfg, roads, [(state.zones[z]["center_lat"], state.zones[z]["center_lon"])
                                                       for z in lacking])
    spots = await spot_targets(actor, conn, response, state, today)
    zst = {s: i for i, s in enumerate(sorted({z["station"] for z in state.zones} | {u["station"] for u in state.units}
                                             | {h.station for h in spots}))}
    problem = Problem(state.unit_zone, np.array([zst[u["station"]] for u in state.units], int),
                      np.array([zst[z["station"]] for z in state.zones], int), state.need, zone_eta,
                      response.allow_cross_station, np.array([zst[h.station] for h in spots], int),
                      _travel(state, cfg, roads, [(h.lat, h.lon) for h in spots]))
    sol = solve(problem)
    have = state.have
    plan = Plan(total_eta_s=sol.total_eta_s, solve_ms=sol.solve_ms)
    for u, z, eta in sorted(sol.moves, key=lambda m: (state.zones[m[1]]["id"], m[2])):
        zr = state.zones[z]
        plan.moves.append(_move(state, u, z, eta, zr["center_lat"], zr["center_lon"], None))
    for u, h, eta in sorted(sol.spot_moves, key=lambda m: (spots[m[1]].cell, m[2])):
        plan.moves.append(_move(state, u, spots[h].zone, eta, spots[h].lat, spots[h].lon, spots[h].cell))
    plan.hotspot_shortfalls = [HotspotShortfall(spots[h].cell, spots[h].station, state.zones[spots[h].zone]["id"],
                                                level_name(spots[h].level), spots[h].minutes_since_visit)
                               for h in sol.spot_short]
    plan.shortfalls = [Shortfall(state.zones[z]["id"], state.zones[z]["station"], int(state.need[z]), int(have[z]),
                                 short) for z, short in sorted(sol.short.items())]
    plan.zones = [{"zone": z["id"], "station": z["station"], "level": level_name(z["alert_level"]),
                   "need": int(state.need[i]), "have": int(have[i])} for i, z in enumerate(state.zones)]
    plan.recalls = _recalls(state)
    plan.street = await _street(conn, actor, response, min((z["alert_level"] or 4 for z in state.zones), default=4))
    return plan


def _move(state: State, u: int, z: int, eta_s: float, to_lat: float, to_lon: float, hotspot: str | None) -> Move:
    """Unit u to zone z (to the point given: the zone's centre, or a hotspot's in it)."""
    ur, zr, src = state.units[u], state.zones[z], state.unit_zone[u]
    return Move(ur["id"], ur["station"], ur["kind"], state.zones[src]["id"] if src >= 0 else None, zr["id"],
                zr["station"], level_name(zr["alert_level"]), round(eta_s, 1), ur["lat"], ur["lon"], to_lat, to_lon,
                hotspot)


async def _street(conn: asyncpg.Connection, actor: Actor, response: ResponsePlan, highest: int) -> dict[str, Any]:
    """On-duty units of a counted kind and the share of them on the street (available or patrolling, not
    en route, on scene or busy), against the response plan's share at the highest level in force."""
    row = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE status = ANY($2::text[])) AS street, count(*) AS on_duty FROM units
           WHERE status = ANY($3::text[]) AND kind = ANY($4::text[])
             AND ($1::text[] IS NULL OR station = ANY($1::text[]))""",
        actor_scope(actor), list(SENDABLE), list(ON_DUTY), list(response.counted_kinds))
    share = row["street"] / row["on_duty"] if row["on_duty"] else None
    required = response.level(highest).street_share
    return {"on_duty": row["on_duty"], "on_street": row["street"], "share": share, "required": required,
            "met": share is not None and share >= required}


def _recalls(state: State) -> list[dict[str, Any]]:
    """Units patrolling a zone on a command for a higher level than the zone's now, that the zone can spare."""
    index = {z["id"]: i for i, z in enumerate(state.zones)}
    spare = state.have - state.need
    out = []
    for u in state.units:
        c = state.committed.get(u["id"])
        if c is None or c["level"] is None:
            continue
        z = index[c["zone"]]
        now_level = state.zones[z]["alert_level"] or 4
        if now_level > c["level"] and spare[z] > 0:
            spare[z] -= 1
            out.append({"unit": u["id"], "station": u["station"], "zone": c["zone"],
                        "sent_for": level_name(c["level"]), "level_now": level_name(now_level)})
    return out


async def apply_moves(actor: Actor, conn: asyncpg.Connection, moves: list[tuple[str, ...]], *,
                      response: ResponsePlan, topic_root: str, publish: Publish,
                      today: dt.date | None = None) -> list[dict[str, Any]]:
    """Send one `patrol` command per (unit, zone) or (unit, zone, hotspot cell) that still obeys the rules
    now; one result per move ({unit, zone, command, published} or {unit, zone, error}). Each move is its
    own transaction. A hotspot move must name a hotspot that needs a unit now, and the zone it lies in."""
    require(actor, "duty.act")
    if len(moves) > MAX_MOVES:
        raise QingzhiError(f"too many moves ({len(moves)}, at most {MAX_MOVES})")
    if len({m[0] for m in moves}) != len(moves):
        raise QingzhiError("a unit appears in more than one move")
    state = await load_state(actor, conn, response)
    index = {z["id"]: i for i, z in enumerate(state.zones)}
    unit_at = {u["id"]: k for k, u in enumerate(state.units)}
    spots = ({h.cell: h for h in await spot_targets(actor, conn, response, state, today)}
             if any(len(m) > 2 and m[2] for m in moves) else {})
    have = state.have
    results = []
    for unit, zone, *rest in moves:
        try:
            k, z, cell = unit_at.get(unit), index.get(zone), rest[0] if rest else None
            if z is None:
                raise QingzhiError(f"no zone {str(zone)[:64]!r} you may plan for")
            if k is None:
                raise QingzhiError(f"unit {str(unit)[:64]!r} is not available for a move (busy, en route, on "
                                   "scene, not reporting, or not yours)")
            ur, src = state.units[k], int(state.unit_zone[k])
            spot = _check_move(actor, response, state, have, k, z, cell, spots)
            cmd = await _send_patrol(actor, conn, ur, state.zones[z], response, topic_root, publish,
                                     state.zones[src]["id"] if src >= 0 else None, spot)
            if spot is not None:
                del spots[spot.cell]            # one unit per hotspot
            have[z] += 1
            if src >= 0:
                have[src] -= 1
            state.unit_zone[k] = z
            results.append({"unit": unit, "zone": zone, "command": cmd.id, "published": cmd.published}
                           | ({"hotspot": cell} if cell else {}))
        except QingzhiError as exc:
            results.append({"unit": unit, "zone": zone, "error": str(exc)}
                           | ({"hotspot": str(cell)[:64]} if cell else {}))
    await audit.record(conn, actor, "plan.apply", details={
        "sent": sum("command" in r for r in results), "refused": sum("error" in r for r in results)})
    return results


def _check_move(actor: Actor, response: ResponsePlan, state: State, have: np.ndarray, k: int, z: int,
                cell: str | None, spots: dict[str, SpotTarget]) -> SpotTarget | None:
    """Raise unless unit k may go to zone z now (to hotspot `cell` in it, if given); the hotspot's target."""
    ur, zr, src = state.units[k], state.zones[z], int(state.unit_zone[k])
    spot = spots.get(cell) if cell else None
    if cell and (spot is None or spot.zone != z):
        raise QingzhiError(f"hotspot {str(cell)[:64]!r} does not need a unit in zone {zr['id']} now (covered, "
                           "visited lately, not raised, or not yours)")
    station = spot.station if spot else zr["station"]
    require(actor, "duty.act", ur["station"], station)
    if ur["station"] != station and not response.allow_cross_station:
        raise QingzhiError(f"unit {ur['id']} belongs to station {ur['station']}, "
                           + (f"hotspot {cell}" if spot else f"zone {zr['id']}") + f" to {station}")
    if spot is None and src == z:
        raise QingzhiError(f"unit {ur['id']} already counts for zone {zr['id']}")
    if spot is None and have[z] >= state.need[z]:
        raise QingzhiError(f"zone {zr['id']} already has its minimum ({state.need[z]})")
    if src >= 0 and src != z and have[src] - 1 < state.need[src]:
        raise QingzhiError(f"moving {ur['id']} would leave zone {state.zones[src]['id']} below its minimum")
    return spot


async def _send_patrol(actor: Actor, conn: asyncpg.Connection, unit: asyncpg.Record, zone: asyncpg.Record,
                       response: ResponsePlan, topic_root: str, publish: Publish, from_zone: str | None,
                       spot: SpotTarget | None = None) -> Command:
    """One `patrol` for the zone: to its centre, or to the hotspot's centre (the cell named in the note)."""
    async with conn.transaction():
        locked = await lock_unit(conn, unit["id"])
        if locked["status"] not in SENDABLE:
            raise QingzhiError(f"unit {unit['id']} is {locked['status']} now")
        until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=response.patrol_minutes)
        level = zone["alert_level"] or 4
        lat, lon = (spot.lat, spot.lon) if spot else (zone["center_lat"], zone["center_lon"])
        note = (f"巡逻 {zone['id']} 热点 {spot.cell} ({level_name(level)}级勤务) / patrol hotspot {spot.cell} in zone "
                f"{zone['id']}" if spot else
                f"巡逻 {zone['id']} ({level_name(level)}级勤务) / patrol zone {zone['id']}")
        cmd = await issue_command(
            actor, conn, locked, kind="patrol", topic_root=topic_root, publish=publish, zone=zone["id"],
            level=level, until=until, lat=lat, lon=lon, note=note)
        await audit.record(conn, actor, "plan.move", unit=unit["id"], details={
            "zone": zone["id"], "from_zone": from_zone, "level": level_name(level), "command": cmd.id,
            "published": cmd.published, "until": until} | ({"hotspot": spot.cell} if spot else {}))
        return cmd


async def recall_units(actor: Actor, conn: asyncpg.Connection, units: list[str], *, topic_root: str,
                       publish: Publish) -> list[dict[str, Any]]:
    """Send `recall` (back to the station) to each unit; each audited. Only units the actor may command."""
    require(actor, "duty.act")
    if len(units) > MAX_MOVES:
        raise QingzhiError(f"too many units ({len(units)}, at most {MAX_MOVES})")
    results = []
    for unit in units:
        try:
            async with conn.transaction():
                u = await lock_unit(conn, unit)
                require(actor, "duty.act", u["station"])
                home = await conn.fetchrow("SELECT lat, lon FROM stations WHERE id = $1", u["station"])
                cmd = await issue_command(actor, conn, u, kind="recall", topic_root=topic_root, publish=publish,
                                          lat=home["lat"] if home else None, lon=home["lon"] if home else None,
                                          note="收队 / return to station")
                await audit.record(conn, actor, "plan.recall", unit=unit, details={"command": cmd.id,
                                                                                  "published": cmd.published})
            results.append({"unit": unit, "command": cmd.id, "published": cmd.published})
        except QingzhiError as exc:
            results.append({"unit": unit, "error": str(exc)})
    return results
