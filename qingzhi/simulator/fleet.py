"""Patrol units in motion: where they are, what they are doing, what their devices report.

Times: `sim` is simulated seconds (runs `speedup` times faster than the wall clock); device
timestamps are always the wall clock, so that the ingest accepts them. Movement, dwell times
and battery drain follow simulated time; terminal report intervals, signal losses and
offline spells are about radios, so they follow the wall clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qingzhi.core.vocab import CAM_RECORDING, SENDABLE, UNIT_KINDS
from qingzhi.simulator.district import District, Zone

# kind: (share of the fleet, patrol speed m/s, urgent speed m/s)
KINDS = dict(zip(UNIT_KINDS, ((0.45, 8.0, 13.0), (0.35, 4.5, 6.5), (0.20, 1.2, 2.2)), strict=True))
KIND_LETTER = {"car": "C", "ebike": "E", "foot": "F"}
# per fix; with 300 units reporting every 3 s: ~3 signal losses a minute (~2 % of the fleet out of
# coverage at a time), ~5 offline spells and ~10 camera faults an hour
SIGNAL_LOSS_P = 0.0005
OFFLINE_P = 0.000015
CAM_FAULT_P = 0.00003
CAM_HEARTBEAT_S = 300.0      # wall clock


def heading_deg(dx: float, dy: float) -> float:
    """Compass heading (0 = north, clockwise) of a move by (dx east, dy north)."""
    return math.degrees(math.atan2(dx, dy)) % 360.0


@dataclass(frozen=True)
class UnitSpec:
    """A unit of the roster (reference data)."""

    id: str
    station: str
    zone: str
    kind: str


def roster(district: District, n_units: int, rng: np.random.Generator) -> list[UnitSpec]:
    """n_units spread over the zones in proportion to their road length, with kind shares as in KINDS."""
    zones = [z for z in district.zones if len(z.nodes) >= 2] or list(district.zones)
    weight = np.array([len(z.nodes) for z in zones], dtype=float) + 1.0
    per_zone = np.floor(weight / weight.sum() * n_units).astype(int)
    for i in np.argsort(-weight)[: n_units - per_zone.sum()]:
        per_zone[i] += 1
    kinds = list(KINDS)
    kind_p = np.array([KINDS[k][0] for k in kinds])
    counters: dict[tuple[str, str], int] = {}
    out = []
    for z, n in zip(zones, per_zone):
        for _ in range(n):
            kind = kinds[rng.choice(len(kinds), p=kind_p)]
            key = (z.station, kind)
            counters[key] = counters.get(key, 0) + 1
            out.append(UnitSpec(f"{z.station}-{KIND_LETTER[kind]}{counters[key]:02d}", z.station, z.id, kind))
    return out


@dataclass
class Unit:
    """A unit's moving state."""

    spec: UnitSpec
    zone: Zone                      # where it patrols now (home zone unless told otherwise)
    x: float
    y: float
    path: np.ndarray                # (k, 2) polyline being driven
    cum: np.ndarray                 # cumulative distance along path
    progress: float = 0.0
    heading: float = 0.0
    speed: float = 0.0
    status: str = "patrolling"
    incident: str | None = None
    until: float = 0.0              # sim time the current dwell ends
    holding: bool = False           # recalled: waits at the station for the next command
    batt: float = 100.0
    cam: str = "standby"
    cam_batt: float = 100.0
    cam_storage: float = 90.0
    cam_until: float = 0.0          # wall clock: end of a camera fault / battery swap
    cam_beat: float = 0.0           # wall clock: next camera heartbeat
    next_fix: float = 0.0           # wall clock
    lost_until: float = 0.0         # wall clock: signal loss ends
    offline_until: float = 0.0      # wall clock: offline spell ends
    buffered: list[dict] = field(default_factory=list)


class Fleet:
    """All units, their behaviour and the messages their devices send."""

    def __init__(self, district: District, specs: list[UnitSpec], rng: np.random.Generator, rate: float, *,
                 signal_loss_p: float = SIGNAL_LOSS_P, offline_p: float = OFFLINE_P,
                 cam_fault_p: float = CAM_FAULT_P) -> None:
        self.d = district
        self.rng = rng
        self.rate = rate
        self.signal_loss_p, self.offline_p, self.cam_fault_p = signal_loss_p, offline_p, cam_fault_p
        zones = {z.id: z for z in district.zones}
        self.units: dict[str, Unit] = {}
        self.video: dict[str, str] = {}       # unit -> its live stream (give_video)
        for s in specs:
            z = zones[s.zone]
            nodes = z.nodes if len(z.nodes) else np.arange(len(district.roads.xy))
            x, y = district.roads.xy[nodes[rng.integers(len(nodes))]]
            u = Unit(s, z, float(x), float(y), np.array([[x, y]]), np.zeros(1))
            u.batt = float(rng.uniform(40, 100))
            u.cam_batt = float(rng.uniform(40, 100))
            u.next_fix = float(rng.uniform(0, rate))  # spread the fleet's reports over the interval
            u.cam_beat = float(rng.uniform(0, CAM_HEARTBEAT_S))
            self._patrol_leg(u)
            self.units[s.id] = u

    # ---- movement -------------------------------------------------------------------------
    def _drive(self, u: Unit, nodes: list[int], end: tuple[float, float] | None = None) -> None:
        pts = [(u.x, u.y), *map(tuple, self.d.roads.xy[nodes])] + ([end] if end else [])
        path = np.array(pts, dtype=float)
        seg = np.hypot(*np.diff(path, axis=0).T)
        u.path, u.cum, u.progress = path, np.concatenate([[0.0], np.cumsum(seg)]), 0.0

    def _patrol_leg(self, u: Unit) -> None:
        """A route to a random node of the unit's zone, on the zone's own roads where possible."""
        roads, nodes = self.d.roads, u.zone.nodes
        if len(nodes) < 2:
            nodes = np.arange(len(roads.xy))
            restrict = None
        else:
            restrict = nodes
        here = roads.nearest(u.x, u.y)
        if restrict is not None and here not in set(restrict.tolist()):
            restrict = None  # outside its zone (after a dispatch): drive back on any road
        self._drive(u, roads.route(here, int(nodes[self.rng.integers(len(nodes))]), restrict))

    def _go_to(self, u: Unit, x: float, y: float) -> None:
        roads = self.d.roads
        self._drive(u, roads.route(roads.nearest(u.x, u.y), roads.nearest(x, y)), (x, y))

    def _advance(self, u: Unit, dist: float) -> bool:
        """Move dist metres along the path; True when the path's end is reached."""
        total = u.cum[-1]
        u.progress = min(u.progress + dist, total)
        i = int(np.searchsorted(u.cum, u.progress, side="right")) - 1
        i = min(i, len(u.path) - 2)
        if i < 0:
            return True
        a, b = u.path[i], u.path[i + 1]
        seg = u.cum[i + 1] - u.cum[i]
        f = 0.0 if seg <= 0 else (u.progress - u.cum[i]) / seg
        u.x, u.y = float(a[0] + (b[0] - a[0]) * f), float(a[1] + (b[1] - a[1]) * f)
        if seg > 0:
            u.heading = heading_deg(b[0] - a[0], b[1] - a[1])
        return u.progress >= total

    def step(self, u: Unit, sim: float, dt: float) -> list[tuple[str, dict]]:
        """Advance one unit by dt simulated seconds; return status/cam changes as (kind, payload)."""
        out: list[tuple[str, dict]] = []
        share, patrol_v, urgent_v = KINDS[u.spec.kind]
        u.batt = max(1.0, u.batt - dt * 3.0 / 3600)
        if u.batt < 15:
            u.batt = 100.0  # battery swapped at the next stop
        drain = 15.0 if u.cam in CAM_RECORDING else 2.0
        u.cam_batt = max(0.0, u.cam_batt - dt * drain / 3600)
        if u.status in ("on_scene", "busy") or (u.status == "available" and u.until > 0):  # dwelling
            u.speed = 0.0
            if sim >= u.until:
                if u.status == "on_scene":
                    out += self._set(u, "busy", u.incident)  # the report, the paperwork
                    out += self._cam(u, "standby")
                    u.until = sim + self.rng.uniform(300, 900)
                elif u.status == "busy":
                    out += self._set(u, "available", None)  # free again, driving back to its beat
                    u.until = 0.0
                    self._patrol_leg(u)
                else:
                    out += self._set(u, "patrolling", None)  # a stop is over
                    u.until = 0.0
                    self._patrol_leg(u)
            return out
        v = urgent_v if u.status == "en_route" else patrol_v * self.rng.uniform(0.7, 1.15)
        u.speed = v
        if self._advance(u, v * dt):
            u.speed = 0.0
            if u.holding:
                return out
            if u.status == "en_route":
                out += self._set(u, "on_scene", u.incident)
                out += self._cam(u, "streaming" if self.rng.random() < 0.3 else "recording")
                u.until = sim + self.rng.uniform(480, 1500)
            elif self.rng.random() < 0.2:
                out += self._set(u, "available", None)
                u.until = sim + self.rng.uniform(120, 600)  # a stop: a check point, a break
            else:
                if u.status != "patrolling":
                    out += self._set(u, "patrolling", None)
                self._patrol_leg(u)
        return out

    # ---- commands -------------------------------------------------------------------------
    def dispatch(self, u: Unit, incident: str | None, x: float, y: float) -> list[tuple[str, dict]]:
        """Go to (x, y) for an incident: en_route now, on_scene on arrival."""
        u.holding, u.until = False, 0.0
        self._go_to(u, x, y)
        return self._set(u, "en_route", incident)

    def resume(self, u: Unit, incident: str, x: float, y: float, on_scene: bool) -> None:
        """Start the simulation with the unit already working an incident (as the database says)."""
        if on_scene:
            u.x, u.y, u.path, u.cum, u.progress = x, y, np.array([[x, y]]), np.zeros(1), 0.0
            u.status, u.incident, u.until = "on_scene", incident, self.rng.uniform(120, 900)
            u.cam = self._resting(u, "recording")
        else:
            self.dispatch(u, incident, x, y)

    def patrol(self, u: Unit, zone_id: str | None, x: float | None, y: float | None) -> list[tuple[str, dict]]:
        """Patrol a zone (or a place): drive there, then patrol its roads."""
        u.holding, u.until = False, 0.0
        zone = next((z for z in self.d.zones if z.id == zone_id), None)
        if zone is not None:
            u.zone = zone
        if x is not None and y is not None:
            self._go_to(u, x, y)
        elif zone is not None:
            c = zone.area.representative_point()
            self._go_to(u, c.x, c.y)
        return self._set(u, "patrolling", None)

    def recall(self, u: Unit) -> list[tuple[str, dict]]:
        """Return to the station, then wait there available."""
        st = next(s for s in self.d.stations if s.id == u.spec.station)
        u.zone = next(z for z in self.d.zones if z.id == u.spec.zone)
        u.holding, u.until = True, 0.0
        self._go_to(u, st.x, st.y)
        return self._set(u, "available", None)

    # ---- device reports -------------------------------------------------------------------
    def _set(self, u: Unit, status: str, incident: str | None) -> list[tuple[str, dict]]:
        u.status, u.incident = status, incident
        payload: dict = {"status": status}
        if incident:
            payload["incident"] = incident
        return [("status", payload)]

    def give_video(self, urls: dict[str, str]) -> None:
        """These units' cameras have real video (simulator/video.py): they stream whenever they work."""
        self.video = dict(urls)
        for unit in self.video:
            if unit in self.units and self.units[unit].cam not in ("fault", "off"):
                self.units[unit].cam = "streaming"

    def _resting(self, u: Unit, state: str) -> str:
        """A camera with video streams where another would record or stand by."""
        return "streaming" if u.spec.id in self.video and state in ("recording", "standby") else state

    def _cam(self, u: Unit, state: str) -> list[tuple[str, dict]]:
        if u.cam in ("fault", "off"):
            return []
        u.cam = self._resting(u, state)
        return [("cam", self.cam_payload(u))]

    def cam_payload(self, u: Unit) -> dict:
        """The camera's current state as a PROTOCOL.md cam payload (without ts); a stream URL only
        where there is video a browser can play (no more made-up rtsp:// links)."""
        p = {"state": u.cam, "batt": round(u.cam_batt, 1), "storage": round(u.cam_storage, 1)}
        if u.cam == "streaming" and u.spec.id in self.video:
            p["stream_url"] = self.video[u.spec.id]
        return p

    def devices(self, u: Unit, wall: float) -> list[tuple[str, object]]:
        """What the unit's terminal and camera send at wall-clock time `wall` (gps, cam, status)."""
        out: list[tuple[str, object]] = []
        if u.offline_until:
            if wall < u.offline_until:
                return out
            u.offline_until = 0.0
            out += [("status", {"status": u.status, **({"incident": u.incident} if u.incident else {})})]
        out += self._camera(u, wall)
        if wall < u.next_fix:
            return out
        u.next_fix = wall + self.rate * self.rng.uniform(0.9, 1.1)
        fix = {"ts": int(wall * 1000), **self._fix(u)}
        r = self.rng.random()
        if u.lost_until:
            u.buffered.append(fix)
            if wall >= u.lost_until:  # coverage is back: the terminal sends what it kept
                out.append(("gps", u.buffered))
                u.buffered, u.lost_until = [], 0.0
        elif r < self.signal_loss_p:
            u.lost_until = wall + self.rng.uniform(30, 240)
            u.buffered = [fix]
        elif r < self.signal_loss_p + self.offline_p and u.status in SENDABLE:
            u.offline_until = wall + self.rng.uniform(60, 600)  # like a broker's last will: no ts
            out.append(("status", {"status": "offline"}))
        else:
            out.append(("gps", fix))
        return out

    def _fix(self, u: Unit) -> dict:
        acc = float(self.rng.gamma(2.0, 3.0)) + 2.0
        ex, ey = self.rng.normal(0, acc / 2, 2)
        lat, lon = self.d.proj.to_latlon(u.x + ex, u.y + ey)
        return {"lat": round(float(lat), 6), "lon": round(float(lon), 6), "speed": round(u.speed, 1),
                "heading": round(u.heading, 1), "acc": round(acc, 1), "batt": round(u.batt, 1)}

    def _camera(self, u: Unit, wall: float) -> list[tuple[str, object]]:
        changed = False
        if u.cam in ("fault", "off") and wall >= u.cam_until:
            u.cam, u.cam_batt, changed = self._resting(u, "standby"), (100.0 if u.cam == "off" else u.cam_batt), True
        elif u.cam not in ("fault", "off") and u.cam_batt < 5:
            u.cam, u.cam_until, changed = "off", wall + self.rng.uniform(300, 1200), True
        elif u.cam not in ("fault", "off") and wall >= u.next_fix and self.rng.random() < self.cam_fault_p:
            u.cam, u.cam_until, changed = "fault", wall + self.rng.uniform(120, 900), True
        if not changed and wall < u.cam_beat:
            return []
        u.cam_beat = wall + CAM_HEARTBEAT_S
        return [("cam", {"ts": int(wall * 1000), **self.cam_payload(u)})]
