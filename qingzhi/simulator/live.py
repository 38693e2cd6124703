"""The live simulation loop: moves the fleet, publishes device messages and 110 calls, obeys commands.

`speedup` scales simulated time: units drive, dwell on scene and drain batteries `speedup`
times faster, and calls arrive at `incidents_per_hour` per *simulated* hour following the
local time of the simulated clock. Message timestamps stay wall-clock milliseconds (the
ingest rejects readings from the future), and terminals still report every `rate` real seconds.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import NamedTuple

import numpy as np

from qingzhi.config import Settings
from qingzhi.core.vocab import SENDABLE
from qingzhi.simulator.district import District
from qingzhi.simulator.fleet import Fleet, Unit, UnitSpec
from qingzhi.simulator.incidents import Incident, IncidentModel, rate_factor, utcnow
from qingzhi.simulator.publisher import Publisher

log = logging.getLogger("qingzhi.simulator")


class Work(NamedTuple):
    """A unit working an open incident when the simulation starts."""

    unit: str
    incident: str
    lat: float
    lon: float
    state: str  # the incident's: assigned, en_route or on_scene
TICK_S = 0.2
SELF_DISPATCH_P = 0.6     # share of calls the station dispatches itself (the rest wait for the centre)
REPORT_EVERY_S = 30.0
MAX_STEP_S = 2.0


class Simulation:
    """A running fleet on one MQTT connection."""

    def __init__(self, settings: Settings, district: District, specs: list[UnitSpec], *, rate: float,
                 speedup: float, incidents_per_hour: float, seed: int, working: Sequence[Work] = (),
                 video: dict[str, str] | None = None) -> None:
        self.d = district
        self.speedup = speedup
        self.per_hour = incidents_per_hour
        self.rng = np.random.default_rng([seed, 1])
        self.fleet = Fleet(district, specs, self.rng, rate)
        self.fleet.give_video(video or {})     # units whose cameras have real video (simulator/video.py)
        self.model = IncidentModel(district, np.random.default_rng([seed, 2]), tz=settings.timezone)
        self.pub = Publisher(settings)
        self.incidents: dict[str, Incident] = {}
        self._waiting: list[tuple[float, Incident]] = []       # (sim time due, incident) for self-dispatch
        self._deferred: dict[str, list[tuple[str, bytes]]] = {}  # commands for units that are offline
        self._last_ts: dict[tuple[str, str], int] = {}
        self.sim = 0.0                                             # simulated seconds since start
        self.sim_start = utcnow()
        for w in working:  # units the database has working an incident carry on with it
            u = self.fleet.units.get(w.unit)
            if u is not None:
                x, y = (float(v) for v in district.proj.to_xy(w.lat, w.lon))
                self.fleet.resume(u, w.incident, x, y, on_scene=w.state == "on_scene")

    # ---- publishing -----------------------------------------------------------------------
    def _send(self, u: Unit, kind: str, payload: object, wall: float) -> None:
        if isinstance(payload, dict) and payload.get("status") != "offline":  # (offline: no ts, like a last will)
            # strictly increasing ts per unit and topic: two readings in one ms would be stored as one
            key = (u.spec.id, kind)
            ts = max(int(payload.get("ts", wall * 1000)), self._last_ts.get(key, 0) + 1)
            self._last_ts[key] = ts
            payload = {**payload, "ts": ts}
        self.pub.publish(f"{u.spec.station}/{u.spec.id}/{kind}", payload)

    def announce(self, wall: float) -> None:
        """Every unit's status and camera state at start, so the centre knows the fleet at once."""
        for u in self.fleet.units.values():
            self._send(u, "status", {"status": u.status, **({"incident": u.incident} if u.incident else {})}, wall)
            self._send(u, "cam", self.fleet.cam_payload(u), wall)

    # ---- commands -------------------------------------------------------------------------
    def _command(self, unit_id: str, raw: bytes, wall: float) -> None:
        u = self.fleet.units.get(unit_id)
        try:
            cmd = json.loads(raw)
            cid = cmd["id"]
            kind = cmd.get("kind")
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed command for %s: %r", unit_id, raw[:200])
            return
        if u is None:
            log.info("command %s for unknown unit %s ignored", cid, unit_id)
            return
        if u.offline_until:
            self._deferred.setdefault(unit_id, []).append((unit_id, raw))
            return
        self.pub.publish(f"{u.spec.station}/{u.spec.id}/ack", {"id": cid, "ts": int(wall * 1000)})
        xy = None
        if isinstance(cmd.get("lat"), (int, float)) and isinstance(cmd.get("lon"), (int, float)):
            xy = tuple(float(v) for v in self.d.proj.to_xy(cmd["lat"], cmd["lon"]))
        if kind == "dispatch":
            inc = self.incidents.get(str(cmd.get("incident")))
            xy = xy or ((inc.x, inc.y) if inc else None)
            if xy is None:
                log.warning("dispatch %s for %s has no destination; acknowledged only", cid, unit_id)
                return
            incident = cmd.get("incident")
            events = self.fleet.dispatch(u, None if incident is None else str(incident), *xy)
        elif kind == "patrol":
            events = self.fleet.patrol(u, cmd.get("zone"), *(xy or (None, None)))
        elif kind == "recall":
            events = self.fleet.recall(u)
        else:
            events = []  # a message: acknowledged, nothing else to do
        for k, p in events:
            self._send(u, k, p, wall)

    # ---- 110 calls ------------------------------------------------------------------------
    def _calls(self, wall: float, dt: float) -> None:
        local = (self.sim_start + timedelta(seconds=self.sim)).astimezone(self.model.tz)
        for _ in range(self.rng.poisson(self.per_hour * rate_factor(local) * dt / 3600.0)):
            inc = self.model.draw(utcnow())
            self.incidents[inc.id] = inc
            self.pub.publish("incidents", inc.message())
            if self.rng.random() < SELF_DISPATCH_P:
                self._waiting.append((self.sim + self.rng.uniform(30, 180), inc))
        if len(self.incidents) > 5000:
            for key in list(self.incidents)[:1000]:
                del self.incidents[key]
        due = [w for w in self._waiting if w[0] <= self.sim]
        self._waiting = [w for w in self._waiting if w[0] > self.sim]
        for _, inc in due:
            free = [u for u in self.fleet.units.values() if u.status in SENDABLE
                    and not u.offline_until and (u.spec.station == inc.station or inc.station is None)]
            if free:
                u = min(free, key=lambda v: (v.x - inc.x) ** 2 + (v.y - inc.y) ** 2)
                for k, p in self.fleet.dispatch(u, inc.id, inc.x, inc.y):
                    self._send(u, k, p, wall)

    # ---- the loop -------------------------------------------------------------------------
    def tick(self, wall: float, dt_real: float) -> None:
        """One step: commands, movement and device reports, calls."""
        dt = min(dt_real, MAX_STEP_S) * self.speedup  # after a stall (broker away) carry on, do not jump
        self.sim += dt
        while not self.pub.commands.empty():
            _, unit_id, raw = self.pub.commands.get_nowait()
            self._command(unit_id, raw, wall)
        for u in self.fleet.units.values():
            was_offline = bool(u.offline_until)
            for kind, payload in self.fleet.step(u, self.sim, dt) + self.fleet.devices(u, wall):
                self._send(u, kind, payload, wall)
            if was_offline and not u.offline_until:
                for unit_id, raw in self._deferred.pop(u.spec.id, []):
                    self._command(unit_id, raw, wall)
        self._calls(wall, dt)

    def run(self, stop: threading.Event) -> None:
        """Connect, announce the fleet, then tick until `stop` is set; disconnect cleanly."""
        self.pub.stopping = stop
        self.pub.start()
        log.info("simulating %d units on %s under %s/", len(self.fleet.units), self.pub.target.display, self.pub.root)
        try:
            last = time.time()
            self.announce(last)
            next_report = last + REPORT_EVERY_S
            while not stop.is_set():
                wall = time.time()
                self.tick(wall, wall - last)
                last = wall
                if wall >= next_report:
                    next_report = wall + REPORT_EVERY_S
                    log.info("simulator: %d messages sent, %d in flight, %d calls", self.pub.sent,
                             self.pub.in_flight(), len(self.incidents))
                stop.wait(max(0.0, TICK_S - (time.time() - wall)))
        finally:
            self.pub.close()
