"""Back-fill days of history straight into PostgreSQL (PROTOCOL.md: bulk history bypasses MQTT).

Incidents with complete lifecycles (their places, hours and types follow the same "three
highs" model as the live calls), the statuses and camera states of the units that handled
them, and patrol tracks. Tracks are the bulk of the rows, so they are kept coarse (one fix a
minute) and only for the most recent days; everything goes in with COPY.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import asyncpg
import numpy as np
import pandas as pd

from qingzhi.core.callers import hash_caller
from qingzhi.core.incidents import category_of
from qingzhi.core.response_plan import load_plan
from qingzhi.simulator.district import District
from qingzhi.simulator.fleet import KINDS, UnitSpec
from qingzhi.simulator.incidents import Incident, IncidentModel, utcnow

TRACK_INTERVAL_S = 60
# priority: median minutes from call to on scene (dispatch + travel)
RESPONSE_MIN = {1: 6.0, 2: 9.0, 3: 14.0, 4: 22.0}


@dataclass
class Counts:
    """Rows written by a back-fill."""

    incidents: int = 0
    assignments: int = 0
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

    def incidents(self, start: datetime, now: datetime) -> tuple[list[tuple], ...]:
        """Incident rows; the command, assignment, status and camera rows of the units that handled them."""
        by_station: dict[str, list[UnitSpec]] = {}
        for s in self.specs:
            by_station.setdefault(s.station, []).append(s)
        rows, commands, acks, assignments, statuses, cams = [], [], [], [], [], []
        busy_until: dict[str, datetime] = {}
        busy: dict[str, list[tuple[datetime, datetime]]] = {}
        for ts in self.model.arrivals(start, now, self.per_hour):
            inc = self.model.draw(ts)
            steps = lifecycle(inc, self.rng, now)
            unit = None
            crew = by_station.get(inc.station or "") or self.specs
            if steps.get("assigned_at") and crew:
                # a free unit of the station, else one lent by another station, else the one free soonest
                at = steps["assigned_at"]
                free = ([c for c in crew if busy_until.get(c.id, start) <= at]
                        or [c for c in self.specs if busy_until.get(c.id, start) <= at])
                unit = (free[self.rng.integers(len(free))] if free
                        else min(crew, key=lambda c: busy_until.get(c.id, start)))
                statuses += self._unit_rows(unit, inc, steps, now, cams)
                done = steps.get("handled_at") or steps.get("cancelled_at")
                busy_until[unit.id] = (done or now) + timedelta(minutes=15)
                busy.setdefault(unit.id, []).append((at, busy_until[unit.id]))
                cmd = uuid.UUID(bytes=self.rng.bytes(16), version=4)  # the dispatch command and its ack
                at = steps["assigned_at"]
                ack = at + timedelta(seconds=float(self.rng.uniform(1, 12)))
                commands.append((cmd, at, unit.id, unit.station, "dispatch", inc.id, inc.lat, inc.lon,
                                 f"{inc.type} {inc.address}", "simulator", at + timedelta(milliseconds=40),
                                 ack, ack + timedelta(milliseconds=200)))
                acks.append((str(cmd), unit.id, ack, ack + timedelta(milliseconds=200), unit.station))
                assignments.append((inc.id, unit.id, cmd, at, "simulator", done,
                                    "simulator" if done else None, "handled" if done else None))
            rows.append((
                inc.id, inc.ts, inc.lat, inc.lon, inc.type, category_of(inc.type), inc.priority, inc.address,
                hash_caller(self.key, inc.caller), inc.summary, inc.station, "simulator", _state(steps),
                steps.get("assigned_at"), steps.get("en_route_at"), steps.get("on_scene_at"), steps.get("handled_at"),
                steps.get("feedback_at"), steps.get("closed_at"), steps.get("cancelled_at"), inc.ts,
                max(v for v in [inc.ts, *steps.values()] if v is not None),
            ))
        return rows, commands, acks, assignments, self._shift_reports(start, now, busy) + statuses, cams

    def _shift_reports(self, start: datetime, now: datetime,
                       busy: dict[str, list[tuple[datetime, datetime]]]) -> list[tuple]:
        """Each unit free at a shift start reports `patrolling` then (the handover), so that its status is
        known at any time, not only around the incidents it handled (playback drew the others grey)."""
        out, shifts = [], load_plan().shift_starts
        day = start.astimezone(self.model.tz).date()
        while (midnight := datetime.combine(day, time(), self.model.tz)) < now:
            for hour in shifts:
                ts = midnight.replace(hour=hour)
                out += [(u.id, ts, ts + timedelta(milliseconds=300), u.station, "patrolling", None, False)
                        for u in self.specs if start <= ts < now
                        and not any(a <= ts < b for a, b in busy.get(u.id, ()))]
            day += timedelta(days=1)
        return out

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

    def tracks(self, start: datetime, now: datetime) -> pd.DataFrame:
        """One fix a minute per unit from start to now: patrol walks on the roads of each unit's zone."""
        n_steps = int((now - start).total_seconds() // TRACK_INTERVAL_S)
        zones = {z.id: z for z in self.d.zones}
        frames = [self._track(spec, zones[spec.zone].nodes, start, n_steps) for spec in self.specs
                  if len(zones[spec.zone].nodes) >= 2 and n_steps > 0]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(POSITION_COLUMNS))

    def _track(self, spec: UnitSpec, nodes: np.ndarray, start: datetime, n_steps: int) -> pd.DataFrame:
        rng, roads = self.rng, self.d.roads
        # moving or stopped in runs (mean 12 and 4 minutes), so that stops look like stops
        runs = np.ravel(np.column_stack([rng.geometric(0.08, n_steps), rng.geometric(0.25, n_steps)]))
        moving = np.repeat(np.tile([True, False], n_steps), runs)[:n_steps]
        step_d = KINDS[spec.kind][1] * TRACK_INTERVAL_S * moving * rng.uniform(0.7, 1.2, n_steps)
        dist = np.cumsum(step_d)
        walk = self._random_walk(nodes, float(dist[-1]) + 1.0)
        seg = np.hypot(*np.diff(roads.xy[walk], axis=0).T) + 1e-6
        length = np.concatenate([[0.0], np.cumsum(seg)])
        xs, ys = np.interp(dist, length, roads.xy[walk, 0]), np.interp(dist, length, roads.xy[walk, 1])
        lat, lon = self.d.proj.to_latlon(xs, ys)
        dx, dy = np.diff(xs, prepend=xs[0]), np.diff(ys, prepend=ys[0])
        t0 = np.datetime64(start.replace(tzinfo=None), "ms") + np.timedelta64(int(rng.integers(TRACK_INTERVAL_S * 1000)), "ms")
        ts = t0 + np.arange(n_steps) * np.timedelta64(TRACK_INTERVAL_S, "s")
        return pd.DataFrame({  # times as ISO text in UTC: formatting datetimes is the slow part of a CSV
            "unit": spec.id, "ts": np.char.add(np.datetime_as_string(ts, unit="ms"), "Z"),
            "recv_ts": np.char.add(np.datetime_as_string(ts + np.timedelta64(400, "ms"), unit="ms"), "Z"),
            "station": spec.station,
            "lat": lat.round(6), "lon": lon.round(6), "speed": (step_d / TRACK_INTERVAL_S).round(1),
            "heading": (np.degrees(np.arctan2(dx, dy)) % 360).round(1),
            "acc": (rng.gamma(2.0, 3.0, n_steps) + 2.0).round(1), "alt": None,
            "batt": (100.0 - (np.arange(n_steps) * TRACK_INTERVAL_S / 3600.0 * 3.0) % 85.0).round(1), "extra": None,
        })

    def _random_walk(self, nodes: np.ndarray, length: float) -> list[int]:
        """A walk over the zone's roads, never turning straight back unless at a dead end, of at least `length` m."""
        g = self.d.roads.graph
        inside = set(nodes.tolist())
        adj = {n: [(int(m), float(w)) for m, w in zip(g.indices[g.indptr[n]:g.indptr[n + 1]], g.data[g.indptr[n]:g.indptr[n + 1]])
                   if int(m) in inside] for n in inside}
        mean_edge = float(np.mean([w for es in adj.values() for _, w in es] or [1.0]))
        picks = iter(self.rng.random(int(2 * length / mean_edge) + 100).tolist())  # plain floats: a hot loop
        walk, prev, done = [int(nodes[self.rng.integers(len(nodes))])], -1, 0.0
        while done < length:
            here = walk[-1]
            options = [e for e in adj[here] if e[0] != prev] or adj[here] or [(here, 1.0)]
            nxt, w = options[int(next(picks, 0.5) * len(options))]
            done += w
            prev = here
            walk.append(nxt)
        return walk


INCIDENT_COLUMNS = (
    "id", "ts", "lat", "lon", "type", "category", "priority", "address", "caller_hash", "summary", "station", "source",
    "state", "assigned_at", "en_route_at", "on_scene_at", "handled_at", "feedback_at", "closed_at", "cancelled_at",
    "recv_ts", "updated_at",
)
ASSIGNMENT_COLUMNS = ("incident", "unit", "command", "assigned_at", "assigned_by", "released_at", "released_by",
                      "release_reason")
ACK_COLUMNS = ("command", "unit", "ts", "recv_ts", "station")
COMMAND_COLUMNS = ("id", "ts", "unit", "station", "kind", "incident", "lat", "lon", "note", "issued_by", "published_at",
                   "ack_ts", "ack_recv_ts")
POSITION_COLUMNS = ("unit", "ts", "recv_ts", "station", "lat", "lon", "speed", "heading", "acc", "alt", "batt", "extra")
STATUS_COLUMNS = ("unit", "ts", "recv_ts", "station", "status", "incident", "sos")
CAM_COLUMNS = ("unit", "ts", "recv_ts", "station", "state", "batt", "storage", "stream_url")


async def _copy(conn: asyncpg.Connection, table: str, columns: tuple[str, ...], rows: list[tuple], skip: str) -> int:
    """COPY rows in through a temporary table `s`; `skip` (SQL) leaves out rows already there (re-runs, live data)."""
    if not rows:
        return 0
    stage = f"_stage_{table}"
    await conn.execute(f"CREATE TEMP TABLE {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
    await conn.copy_records_to_table(stage, records=rows, columns=list(columns))
    cols = ", ".join(columns)
    status = await conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} s {skip}")
    return int(status.split()[-1])


async def _copy_frame(conn: asyncpg.Connection, table: str, frame: pd.DataFrame) -> int:
    """COPY a DataFrame straight in, as CSV (the fastest path for ~1M rows); for rows that cannot exist yet."""
    if frame.empty:
        return 0
    data = io.BytesIO(frame.to_csv(index=False, header=False).encode())
    await conn.copy_to_table(table, source=data, columns=list(frame.columns), format="csv")
    return len(frame)


def _on_conflict(key: str) -> str:
    return f"ON CONFLICT ({key}) DO NOTHING"


async def write_history(conn: asyncpg.Connection, backfill: Backfill, days: float, track_days: float = 2.0,
                        now: datetime | None = None) -> Counts:
    """Back-fill `days` of incidents (and statuses, camera states) and `track_days` of tracks, ending now.

    A second run continues from the newest simulated incident (and the newest fix) instead of
    repeating the period.
    """
    now = now or utcnow()
    start = now - timedelta(days=days)
    last = await conn.fetchval("SELECT max(ts) FROM incidents WHERE source = 'simulator'")
    if last is not None and last > start:
        start = last + timedelta(seconds=1)
    track_start = max(start, now - timedelta(days=min(track_days, days)))
    last_fix = await conn.fetchval("SELECT max(ts) FROM positions WHERE ts >= $1", now - timedelta(days=track_days))
    if last_fix is not None:  # tracks are there already (an earlier back-fill or live data): add only what follows
        track_start = max(track_start, last_fix + timedelta(seconds=1))
    counts = Counts()
    if start >= now:
        return counts
    incidents, commands, acks, assignments, statuses, cams = backfill.incidents(start, now)
    tracks = backfill.tracks(track_start, now) if track_start < now else pd.DataFrame()
    async with conn.transaction():
        for table, lo in (("statuses", start), ("cam_states", start), ("positions", track_start)):
            await conn.execute("SELECT qz_ensure_partitions($1, $2::date, $3::date)", table,
                               lo.date(), now.date())
        counts.incidents = await _copy(conn, "incidents", INCIDENT_COLUMNS, incidents, _on_conflict("id"))
        await _copy(conn, "commands", COMMAND_COLUMNS, commands, _on_conflict("id"))
        await _copy(conn, "acks", ACK_COLUMNS, acks, _on_conflict("command, unit"))
        counts.assignments = await _copy(conn, "assignments", ASSIGNMENT_COLUMNS, assignments, """WHERE NOT EXISTS
            (SELECT 1 FROM assignments a WHERE a.incident = s.incident AND a.unit = s.unit)""")
        counts.statuses = await _copy(conn, "statuses", STATUS_COLUMNS, statuses, _on_conflict("unit, ts"))
        counts.cam_states = await _copy(conn, "cam_states", CAM_COLUMNS, cams, _on_conflict("unit, ts"))
        counts.positions = await _copy_frame(conn, "positions", tracks)  # all after the newest fix: no conflicts
    return counts
