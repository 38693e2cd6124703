"""Back-fill days of history straight into PostgreSQL (PROTOCOL.md: bulk history bypasses MQTT).

Incidents with complete lifecycles (their places, hours and types follow the same "three
highs" model as the live calls), the statuses and camera states of the units that handled
them, and patrol tracks. Tracks are the bulk of the rows, so they are kept coarse (one fix a
minute) and only for the most recent days; everything goes in with COPY.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import numpy as np

from dashboard.data.dispatch import caller_hash  # the one keyed hash of callers' numbers
from qingzhi.simulator.district import District
from qingzhi.simulator.fleet import KINDS, UnitSpec
from qingzhi.simulator.geo import heading_deg
from qingzhi.simulator.incidents import Incident, IncidentModel, utcnow

TRACK_INTERVAL_S = 60
# priority: median minutes from call to on scene (dispatch + travel)
RESPONSE_MIN = {1: 6.0, 2: 9.0, 3: 14.0, 4: 22.0}


@dataclass
class Counts:
    """Rows written by a back-fill."""

    incidents: int = 0
    positions: int = 0
    statuses: int = 0
    cam_states: int = 0


def lifecycle(inc: Incident, rng: np.random.Generator, now: datetime) -> dict[str, datetime | None]:
    """Plausible lifecycle timestamps for an incident, cut off at `now` (later stages not reached yet)."""
    if rng.random() < 0.02:
        cancel = inc.ts + timedelta(minutes=float(rng.uniform(2, 10)))
        return {"cancelled_at": cancel if cancel < now else None}
    t = inc.ts
    steps = {}
    median_resp = RESPONSE_MIN[inc.priority] * 60
    gaps = {
        "assigned_at": rng.uniform(0.08, 0.2) * median_resp,
        "en_route_at": rng.uniform(15, 60),
        "on_scene_at": median_resp * float(np.exp(rng.normal(0, 0.35))) * 0.8,
        "handled_at": 60 * 25 * float(np.exp(rng.normal(0, 0.5))),
        "feedback_at": rng.uniform(5, 40) * 60,
        "closed_at": rng.uniform(10, 360) * 60,
    }
    for name, gap in gaps.items():
        t = t + timedelta(seconds=float(gap))
        steps[name] = t if t < now else None
        if t >= now:
            t = now + timedelta(days=1)  # every later stage is in the future too
    return steps


def _state(steps: dict[str, datetime | None]) -> str:
    if steps.get("cancelled_at"):
        return "cancelled"
    state = "received"
    for name in ("assigned_at", "en_route_at", "on_scene_at", "handled_at", "feedback_at", "closed_at"):
        if steps.get(name):
            state = name[:-3]
    return state


class Backfill:
    """Generates and writes history for a district and roster."""

    def __init__(self, district: District, specs: list[UnitSpec], seed: int, caller_key: str,
                 per_hour: float, tz: str = "Asia/Shanghai") -> None:
        self.d = district
        self.specs = specs
        self.rng = np.random.default_rng([seed, 7])
        self.model = IncidentModel(district, self.rng, tz=tz, prefix="H")
        self.key = caller_key
        self.per_hour = per_hour

    def incidents(self, start: datetime, now: datetime) -> tuple[list[tuple], list[tuple], list[tuple]]:
        """Incident rows, and the status and camera rows of the units that handled them."""
        by_station: dict[str, list[UnitSpec]] = {}
        for s in self.specs:
            by_station.setdefault(s.station, []).append(s)
        rows, statuses, cams = [], [], []
        for ts in self.model.arrivals(start, now, self.per_hour):
            inc = self.model.draw(ts)
            steps = lifecycle(inc, self.rng, now)
            unit = None
            crew = by_station.get(inc.station or "") or self.specs
            if steps.get("assigned_at") and crew:
                unit = crew[self.rng.integers(len(crew))]
                statuses += self._unit_rows(unit, inc, steps, now, cams)
            extra = f'{{"units": ["{unit.id}"]}}' if unit else None
            rows.append((
                inc.id, inc.ts, inc.lat, inc.lon, inc.type, inc.type.split(".")[0], inc.priority, inc.address,
                caller_hash(inc.caller, self.key), inc.summary, inc.station, "simulator", _state(steps),
                steps.get("assigned_at"), steps.get("en_route_at"), steps.get("on_scene_at"), steps.get("handled_at"),
                steps.get("feedback_at"), steps.get("closed_at"), steps.get("cancelled_at"), extra, inc.ts,
                max(v for v in [inc.ts, *steps.values()] if v is not None),
            ))
        return rows, statuses, cams

    def _unit_rows(self, u: UnitSpec, inc: Incident, steps: dict, now: datetime, cams: list[tuple]) -> list[tuple]:
        out = []
        marks = [("en_route", steps.get("en_route_at"), inc.id), ("on_scene", steps.get("on_scene_at"), inc.id),
                 ("busy", steps.get("handled_at"), inc.id)]
        if steps.get("handled_at"):
            marks.append(("available", steps["handled_at"] + timedelta(minutes=float(self.rng.uniform(5, 15))), None))
        for status, ts, incident in marks:
            if ts is not None and ts < now:
                out.append((u.id, ts, ts + timedelta(milliseconds=300), u.station, status, incident, False))
        if steps.get("on_scene_at"):
            state = "streaming" if self.rng.random() < 0.3 else "recording"
            batt = float(self.rng.uniform(30, 100))
            cams.append((u.id, steps["on_scene_at"], steps["on_scene_at"], u.station, state, batt, 80.0,
                         f"rtsp://video.example.invalid/live/{u.id}" if state == "streaming" else None))
            if steps.get("handled_at"):
                cams.append((u.id, steps["handled_at"], steps["handled_at"], u.station, "standby",
                             max(batt - 8, 5.0), 79.0, None))
        return out

    def tracks(self, start: datetime, now: datetime) -> list[tuple]:
        """One fix a minute per unit from start to now: patrol walks on the roads of each unit's zone."""
        roads = self.d.roads
        indptr, indices = roads.graph.indptr, roads.graph.indices
        zones = {z.id: z for z in self.d.zones}
        n_steps = int((now - start).total_seconds() // TRACK_INTERVAL_S)
        rows: list[tuple] = []
        for spec in self.specs:
            nodes = zones[spec.zone].nodes
            if len(nodes) < 2 or n_steps <= 0:
                continue
            allowed = np.zeros(len(roads.xy), dtype=bool)
            allowed[nodes] = True
            v = KINDS[spec.kind][1]
            # moving or stopped, in runs (Markov chain), so stops last several minutes
            moving = np.empty(n_steps, dtype=bool)
            state = True
            flips = self.rng.random(n_steps)
            for k in range(n_steps):
                moving[k] = state
                if flips[k] < (0.08 if state else 0.25):
                    state = not state
            step_d = v * TRACK_INTERVAL_S * moving * self.rng.uniform(0.7, 1.2, n_steps)
            dist = np.cumsum(step_d)
            walk = [int(nodes[self.rng.integers(len(nodes))])]
            length = [0.0]
            prev = -1
            while length[-1] < dist[-1] + 1.0:
                here = walk[-1]
                nbrs = [n for n in indices[indptr[here]:indptr[here + 1]] if allowed[n] and n != prev]
                if not nbrs:
                    nbrs = [prev] if prev >= 0 else [here]
                nxt = int(nbrs[self.rng.integers(len(nbrs))])
                length.append(length[-1] + float(np.hypot(*(roads.xy[nxt] - roads.xy[here]))) + 1e-6)
                prev, walk = here, walk + [nxt]
            wx, wy = roads.xy[walk, 0], roads.xy[walk, 1]
            xs, ys = np.interp(dist, length, wx), np.interp(dist, length, wy)
            lat, lon = self.d.proj.to_latlon(xs, ys)
            acc = self.rng.gamma(2.0, 3.0, n_steps) + 2.0
            batt = 100.0 - (np.arange(n_steps) * TRACK_INTERVAL_S / 3600.0 * 3.0) % 85.0
            offset = timedelta(seconds=float(self.rng.uniform(0, TRACK_INTERVAL_S)), milliseconds=int(self.rng.integers(1000)))
            dx, dy = np.diff(xs, prepend=xs[0]), np.diff(ys, prepend=ys[0])
            for k in range(n_steps):
                ts = start + offset + timedelta(seconds=k * TRACK_INTERVAL_S)
                rows.append((spec.id, ts, ts + timedelta(milliseconds=400), spec.station, float(lat[k]), float(lon[k]),
                             float(step_d[k] / TRACK_INTERVAL_S), heading_deg(dx[k], dy[k]), float(acc[k]), None,
                             float(batt[k]), None))
        return rows


INCIDENT_COLUMNS = (
    "id", "ts", "lat", "lon", "type", "category", "priority", "address", "caller_hash", "summary", "station", "source",
    "state", "assigned_at", "en_route_at", "on_scene_at", "handled_at", "feedback_at", "closed_at", "cancelled_at",
    "extra", "recv_ts", "updated_at",
)
POSITION_COLUMNS = ("unit", "ts", "recv_ts", "station", "lat", "lon", "speed", "heading", "acc", "alt", "batt", "extra")
STATUS_COLUMNS = ("unit", "ts", "recv_ts", "station", "status", "incident", "sos")
CAM_COLUMNS = ("unit", "ts", "recv_ts", "station", "state", "batt", "storage", "stream_url")


async def _copy(conn: asyncpg.Connection, table: str, columns: tuple[str, ...], rows: list[tuple], key: str) -> int:
    """COPY rows in through a temporary table; rows whose key already exists are skipped (re-runs, live data)."""
    if not rows:
        return 0
    stage = f"_stage_{table}"
    await conn.execute(f"CREATE TEMP TABLE {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
    await conn.copy_records_to_table(stage, records=rows, columns=list(columns))
    cols = ", ".join(columns)
    status = await conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT ({key}) DO NOTHING")
    return int(status.split()[-1])


async def write_history(conn: asyncpg.Connection, backfill: Backfill, days: float, track_days: float = 2.0,
                        now: datetime | None = None) -> Counts:
    """Back-fill `days` of incidents (and statuses, camera states) and `track_days` of tracks, ending now.

    A second run continues from the newest simulated incident instead of repeating the period.
    """
    now = now or utcnow()
    start = now - timedelta(days=days)
    last = await conn.fetchval("SELECT max(ts) FROM incidents WHERE source = 'simulator'")
    if last is not None and last > start:
        start = last + timedelta(seconds=1)
    track_start = max(start, now - timedelta(days=min(track_days, days)))
    counts = Counts()
    if start >= now:
        return counts
    incidents, statuses, cams = backfill.incidents(start, now)
    tracks = backfill.tracks(track_start, now) if track_start < now else []
    async with conn.transaction():
        for table, lo in (("statuses", start), ("cam_states", start), ("positions", track_start)):
            await conn.execute("SELECT qz_ensure_partitions($1, $2::date, $3::date)", table,
                               lo.date(), now.date())
        counts.incidents = await _copy(conn, "incidents", INCIDENT_COLUMNS, incidents, "id")
        counts.statuses = await _copy(conn, "statuses", STATUS_COLUMNS, statuses, "unit, ts")
        counts.cam_states = await _copy(conn, "cam_states", CAM_COLUMNS, cams, "unit, ts")
        counts.positions = await _copy(conn, "positions", POSITION_COLUMNS, tracks, "unit, ts")
    return counts
