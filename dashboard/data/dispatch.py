"""Dispatch data: the incident queue, one incident's detail, assigning and releasing units,
commands to devices, incidents entered by hand, and the ack-timeout / overdue alerts.

Lifecycle rules live in lifecycle.py; every action here is audited in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from dashboard.data import audit
from dashboard.data.dispatch_config import DispatchConfig
from dashboard.data.lifecycle import OPEN, TransitionError, free_units, lock_incident, move
from qingzhi.callers import hash_caller
from qingzhi.errors import QingzhiError
from qingzhi.stations import StationLocator

ASSIGNABLE = ("received", "assigned", "en_route", "on_scene")  # a unit can still be added
TYPE_PATTERN = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
# Publish a command and wait for the broker's PUBACK: True confirmed, False not confirmed in
# time (it may still go out), raises QingzhiError when nothing could be sent at all.
Publish = Callable[[str, bytes], Awaitable[bool]]


@dataclass(frozen=True)
class Command:
    """A command as sent: its id, topic, PROTOCOL.md payload and whether the broker confirmed it."""

    id: str
    topic: str
    payload: dict[str, Any]
    published: bool


# --- reading ---------------------------------------------------------------------------------

_QUEUE_SQL = """
SELECT i.id, i.ts, i.priority, i.type, i.address, i.summary, i.state, i.station, i.source, i.caller_hash,
       i.lat, i.lon, i.assigned_at, i.en_route_at, i.on_scene_at, i.handled_at,
       coalesce(a.units, '{}') AS units, coalesce(a.cmd_ts, '{}') AS cmd_ts, coalesce(a.acks, '{}') AS acks
FROM incidents i
LEFT JOIN LATERAL (
    SELECT array_agg(a.unit ORDER BY a.assigned_at) AS units,
           array_agg(c.ts ORDER BY a.assigned_at) AS cmd_ts,
           array_agg(coalesce(c.ack_recv_ts, (SELECT min(k.recv_ts) FROM acks k WHERE k.command = c.id::text))
                     ORDER BY a.assigned_at) AS acks
    FROM assignments a LEFT JOIN commands c ON c.id = a.command
    WHERE a.incident = i.id AND a.released_at IS NULL
) a ON true
WHERE i.state = ANY($1::text[]) AND ($2::text IS NULL OR i.station = $2)
ORDER BY i.state IN ('handled', 'feedback'), i.priority, i.ts
LIMIT $3
"""


def overdue_stage(row: dict[str, Any], cfg: DispatchConfig, now: dt.datetime) -> str | None:
    """'assign' or 'on_scene' if the incident has waited past its priority's threshold for that step."""
    th = cfg.overdue.get(row["priority"])
    if th is None or row["state"] not in ("received", "assigned", "en_route"):
        return None
    waited = (now - row["ts"]).total_seconds()
    if row["assigned_at"] is None and waited > th.assign_s:
        return "assign"
    if row["on_scene_at"] is None and waited > th.on_scene_s:
        return "on_scene"
    return None


async def queue(
    conn: asyncpg.Connection, cfg: DispatchConfig, *, now: dt.datetime, station: str | None = None, limit: int = 300
) -> list[dict[str, Any]]:
    """Open incidents, the ones needing action first by priority and age, each with its wait,
    overdue stage, active units and whether each unit acknowledged (or timed out)."""
    rows = await conn.fetch(_QUEUE_SQL, list(OPEN), station, limit)
    out = []
    for r in rows:
        row = dict(r)
        row["waited_s"] = max(0.0, (now - row["ts"]).total_seconds())
        row["overdue"] = overdue_stage(row, cfg, now)
        row["ack"] = [
            "acked" if ack is not None else ("timeout" if (now - ts).total_seconds() > cfg.ack_timeout_s else "waiting")
            for ts, ack in zip(row.pop("cmd_ts"), row.pop("acks"))
        ]
        out.append(row)
    return out


async def incident_detail(conn: asyncpg.Connection, incident: str) -> dict[str, Any] | None:
    """One incident with all its assignments (ack state of each command) and its duplicates."""
    row = await conn.fetchrow("SELECT * FROM incidents WHERE id = $1", incident)
    if row is None:
        return None
    assigned = await conn.fetch(
        """SELECT a.unit, a.assigned_at, a.assigned_by, a.released_at, a.release_reason, a.command,
                  c.ts AS cmd_ts, c.published_at,
                  coalesce(c.ack_recv_ts, (SELECT min(k.recv_ts) FROM acks k WHERE k.command = c.id::text)) AS ack_at,
                  u.status, u.kind, u.station AS unit_station, u.lat, u.lon
           FROM assignments a LEFT JOIN commands c ON c.id = a.command LEFT JOIN units u ON u.id = a.unit
           WHERE a.incident = $1 ORDER BY a.released_at IS NOT NULL, a.assigned_at""",
        incident,
    )
    dups = await conn.fetch("SELECT id FROM incidents WHERE merged_into = $1 ORDER BY ts", incident)
    return {**dict(row), "assignments": [dict(a) for a in assigned], "duplicates": [d["id"] for d in dups]}


async def incidents_by_id(conn: asyncpg.Connection, ids: list[str]) -> list[dict[str, Any]]:
    """Brief rows of these incidents, newest first (for a repeat flag's list)."""
    rows = await conn.fetch(
        "SELECT id, ts, type, priority, state, address, station FROM incidents WHERE id = ANY($1::text[]) ORDER BY ts DESC",
        ids,
    )
    return [dict(r) for r in rows]


# --- commands and assignments --------------------------------------------------------------


async def issue_command(
    conn: asyncpg.Connection, unit: asyncpg.Record, *, kind: str, by: str, topic_root: str, publish: Publish,
    incident: str | None = None, lat: float | None = None, lon: float | None = None, note: str | None = None,
) -> Command:
    """Store a command row, publish it (QoS 1) and stamp published_at once the broker confirms."""
    cmd_id = str(uuid.uuid4())
    ts_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    payload = {"id": cmd_id, "ts": ts_ms, "kind": kind, "incident": incident, "lat": lat, "lon": lon, "note": note, "by": by}
    payload = {k: v for k, v in payload.items() if v is not None}
    await conn.execute(
        """INSERT INTO commands (id, ts, unit, station, kind, incident, lat, lon, note, issued_by)
           VALUES ($1, to_timestamp($2 / 1000.0), $3, $4, $5, $6, $7, $8, $9, $10)""",
        uuid.UUID(cmd_id), ts_ms, unit["id"], unit["station"], kind, incident, lat, lon, note, by,
    )
    topic = f"{topic_root}/{unit['station']}/{unit['id']}/cmd"
    published = await publish(topic, json.dumps(payload, ensure_ascii=False).encode())
    if published:
        await conn.execute("UPDATE commands SET published_at = clock_timestamp() WHERE id = $1", uuid.UUID(cmd_id))
    return Command(cmd_id, topic, payload, published)


async def _lock_unit(conn: asyncpg.Connection, unit: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT id, station, status, incident FROM units WHERE id = $1 FOR UPDATE", unit)
    if row is None:
        raise QingzhiError(f"no unit {unit!r}")
    return row


async def assign(
    conn: asyncpg.Connection, incident: str, unit: str, *, by: str, screen: str | None, topic_root: str,
    publish: Publish, note: str | None = None,
) -> Command:
    """Send a unit to an incident: a dispatch command, the assignment, incident `assigned`,
    unit `en_route`, all audited in one transaction. A broker that cannot be reached undoes it all."""
    async with conn.transaction():
        row = await lock_incident(conn, incident)
        if row["state"] not in ASSIGNABLE:
            raise TransitionError(f"incident {incident} is {row['state']}: no unit can be assigned any more")
        u = await _lock_unit(conn, unit)
        busy = await conn.fetchrow(
            """SELECT a.incident, i.state FROM assignments a JOIN incidents i ON i.id = a.incident
               WHERE a.unit = $1 AND a.released_at IS NULL ORDER BY a.assigned_at LIMIT 1""", unit
        )
        if busy is not None and busy["incident"] == incident:
            raise QingzhiError(f"unit {unit} is already assigned to incident {incident}")
        if busy is not None:
            # reassigning: fine once the other incident is finished or the unit itself reports free
            if busy["state"] in ASSIGNABLE and u["status"] not in ("available", "patrolling"):
                raise QingzhiError(f"unit {unit} is working incident {busy['incident']}: release it there first")
            await conn.execute(
                """UPDATE assignments SET released_at = now(), released_by = $3, release_reason = 'reassigned'
                   WHERE unit = $1 AND incident = $2 AND released_at IS NULL""", unit, busy["incident"], by)
            await audit.record(conn, actor=by, action="dispatch.release", incident=busy["incident"], unit=unit,
                               screen=screen, details={"reason": "reassigned", "to": incident})
        text = note or " ".join(x for x in (row["type"], row["address"]) if x)
        cmd = await issue_command(
            conn, u, kind="dispatch", by=by, topic_root=topic_root, publish=publish,
            incident=incident, lat=row["lat"], lon=row["lon"], note=text,
        )
        await conn.execute(
            "INSERT INTO assignments (incident, unit, command, assigned_by) VALUES ($1, $2, $3, $4)",
            incident, unit, uuid.UUID(cmd.id), by,
        )
        if row["state"] == "received":
            await move(conn, row, "assigned", by=by, screen=screen, details={"unit": unit})
        await conn.execute(
            """UPDATE units SET status = 'en_route', incident = $2, status_ts = now(),
                      version = nextval('units_version_seq') WHERE id = $1""",
            unit, incident,
        )
        await audit.record(
            conn, actor=by, action="dispatch.assign", incident=incident, unit=unit, screen=screen,
            details={"command": cmd.id, "published": cmd.published, "previous_status": u["status"]},
        )
        return cmd


async def release(
    conn: asyncpg.Connection, incident: str, unit: str, *, by: str, screen: str | None, topic_root: str,
    publish: Publish, reason: str = "released",
) -> Command:
    """Take a unit off an incident (to reassign it, or when it did not acknowledge) and tell its device."""
    async with conn.transaction():
        row = await conn.fetchrow(
            """UPDATE assignments SET released_at = now(), released_by = $3, release_reason = $4
               WHERE incident = $1 AND unit = $2 AND released_at IS NULL RETURNING id""",
            incident, unit, by, reason,
        )
        if row is None:
            raise QingzhiError(f"unit {unit} is not assigned to incident {incident}")
        await free_units(conn, incident, [unit])
        u = await _lock_unit(conn, unit)
        cmd = await issue_command(
            conn, u, kind="message", by=by, topic_root=topic_root, publish=publish, incident=incident,
            note=f"解除警情 {incident} 任务 / released from incident {incident}",
        )
        await audit.record(
            conn, actor=by, action="dispatch.release", incident=incident, unit=unit, screen=screen,
            details={"reason": reason, "command": cmd.id},
        )
        return cmd


# --- incidents entered by hand --------------------------------------------------------------


async def create_incident(
    conn: asyncpg.Connection, *, lat: float, lon: float, type: str, priority: int, by: str, tz: str,
    address: str | None = None, summary: str | None = None, caller: str | None = None, caller_key: str = "",
    screen: str | None = "dispatch",
) -> str:
    """Record a walk-in or radio report (source 'form'); the station is the jurisdiction holding the
    point (as the ingest decides it). Returns its id."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        raise QingzhiError(f"bad location {lat}, {lon}")
    type = (type or "").strip().lower()
    if not TYPE_PATTERN.match(type) or len(type) > 64:
        raise QingzhiError(f"bad incident type {type!r}: lower-case codes like theft.ebike")
    if priority not in (1, 2, 3, 4):
        raise QingzhiError(f"priority must be 1 to 4, not {priority}")
    now = dt.datetime.now(ZoneInfo(tz))
    incident = f"F{now:%Y%m%d%H%M%S}{secrets.token_hex(2).upper()}"
    async with conn.transaction():
        stations = await conn.fetch("SELECT id, lat, lon, boundary FROM stations")
        station = StationLocator.from_rows(stations).locate(lat, lon)
        await conn.execute(
            """INSERT INTO incidents (id, ts, lat, lon, type, category, priority, address, summary,
                                      caller_hash, station, source)
               VALUES ($1, now(), $2, $3, $4, $5, $6, $7, $8, $9, $10, 'form')""",
            incident, lat, lon, type, type.split(".")[0], priority, address or None, summary or None,
            hash_caller(caller_key, caller) if caller else None, station,
        )
        await audit.record(
            conn, actor=by, action="incident.create", incident=incident, screen=screen,
            details={"type": type, "priority": priority, "lat": lat, "lon": lon},
        )
    return incident


# --- alerts -----------------------------------------------------------------------------------


async def raise_due_alerts(conn: asyncpg.Connection, cfg: DispatchConfig) -> int:
    """Raise ack_timeout alerts (an active assignment's command unacknowledged past the timeout) and
    overdue alerts (per priority thresholds). Idempotent: the alert time is fixed by the data."""
    made = await conn.fetchval(
        """WITH ins AS (
             INSERT INTO alerts (ts, kind, severity, subject, unit, station, incident, detail)
             SELECT c.ts, 'ack_timeout', 2, c.id::text, c.unit, c.station, c.incident,
                    jsonb_build_object('command', c.id, 'timeout_s', $1::int)
             FROM commands c JOIN assignments a ON a.command = c.id AND a.released_at IS NULL
             WHERE c.ack_recv_ts IS NULL AND c.ts < now() - make_interval(secs => $1::int)
               AND NOT EXISTS (SELECT 1 FROM acks k WHERE k.command = c.id::text)
             ON CONFLICT (kind, subject, ts) DO NOTHING RETURNING 1)
           SELECT count(*) FROM ins""",
        cfg.ack_timeout_s,
    )
    prios = sorted(cfg.overdue)
    for stage, col, field in (("assign", "assigned_at", "assign_s"), ("on_scene", "on_scene_at", "on_scene_s")):
        made += await conn.fetchval(
            f"""WITH th(priority, secs) AS (SELECT * FROM unnest($1::int[], $2::int[])),
                ins AS (
                  INSERT INTO alerts (ts, kind, severity, subject, station, incident, detail)
                  SELECT i.ts + make_interval(secs => th.secs), 'overdue', CASE WHEN i.priority = 1 THEN 1 ELSE 2 END,
                         i.id, i.station, i.id, jsonb_build_object('stage', $3::text, 'priority', i.priority)
                  FROM incidents i JOIN th ON th.priority = i.priority
                  WHERE i.state IN ('received', 'assigned', 'en_route') AND i.{col} IS NULL
                    AND i.ts + make_interval(secs => th.secs) < now()
                  ON CONFLICT (kind, subject, ts) DO NOTHING RETURNING 1)
                SELECT count(*) FROM ins""",
            prios, [getattr(cfg.overdue[p], field) for p in prios], stage,
        )
    return made


# --- units for the recommender ----------------------------------------------------------------


async def unit_rows(conn: asyncpg.Connection, since_version: int = 0) -> list[asyncpg.Record]:
    """Units with a position changed after `since_version` (all of them for 0), for the fleet cache."""
    return await conn.fetch(
        """SELECT id, station, kind, status, lat, lon, extract(epoch FROM fix_ts)::float8 AS fix_epoch, cam_state, version
           FROM units WHERE version > $1 AND lat IS NOT NULL ORDER BY version""",
        since_version,
    )
