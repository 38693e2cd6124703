"""Sending units: a command to a device, assigning a unit to an incident and releasing it.

Each action takes the Actor first; the command row, the assignment, the incident's step, the
unit's status and the audit entries are one transaction sharing the actor's context id, and
the command is published (QoS 1) inside it: a broker that cannot be reached undoes it all.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from qingzhi.core import audit
from qingzhi.core.access import require
from qingzhi.core.actor import Actor
from qingzhi.core.lifecycle import TransitionError
from qingzhi.core.response_plan import LEVEL_NAMES
from qingzhi.core.moves import free_units, lock_incident, lock_unit, move
from qingzhi.core.vocab import COMMAND_KINDS, SENDABLE
from qingzhi.errors import QingzhiError

ASSIGNABLE = ("received", "assigned", "en_route", "on_scene")  # a unit can still be added
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


async def issue_command(
    actor: Actor, conn: asyncpg.Connection, unit: asyncpg.Record, *, kind: str, topic_root: str, publish: Publish,
    incident: str | None = None, lat: float | None = None, lon: float | None = None, note: str | None = None,
    task: int | None = None, zone: str | None = None, level: int | None = None, until: dt.datetime | None = None,
) -> Command:
    """Store a command row, publish it (QoS 1) and stamp published_at once the broker confirms;
    a `message` may carry a follow-up task (its slip, PROTOCOL.md `task`); `zone`, `level` (1–4, sent as
    'I'–'IV') and `until` are a `patrol` command's (PROTOCOL.md)."""
    require(actor, "dispatch.act", unit["station"])
    if kind not in COMMAND_KINDS:
        raise QingzhiError(f"unknown command kind {kind!r}")
    cmd_id = str(uuid.uuid4())
    ts_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    until_ms = None if until is None else int(until.timestamp() * 1000)
    payload = {"id": cmd_id, "ts": ts_ms, "kind": kind, "incident": incident, "zone": zone,
               "level": None if level is None else LEVEL_NAMES[level - 1], "until": until_ms,
               "lat": lat, "lon": lon, "note": note, "task": None if task is None else str(task), "by": actor.label}
    payload = {k: v for k, v in payload.items() if v is not None}
    await conn.execute(
        """INSERT INTO commands (id, ts, unit, station, kind, incident, lat, lon, note, issued_by, context, task,
                                 zone, level, until)
           VALUES ($1, to_timestamp($2 / 1000.0), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)""",
        uuid.UUID(cmd_id), ts_ms, unit["id"], unit["station"], kind, incident, lat, lon, note, actor.label,
        actor.context, task, zone, level, until,
    )
    topic = f"{topic_root}/{unit['station']}/{unit['id']}/cmd"
    published = await publish(topic, json.dumps(payload, ensure_ascii=False).encode())
    if published:
        await conn.execute("UPDATE commands SET published_at = clock_timestamp() WHERE id = $1", uuid.UUID(cmd_id))
    return Command(cmd_id, topic, payload, published)


async def assign(
    actor: Actor, conn: asyncpg.Connection, incident: str, unit: str, *, topic_root: str, publish: Publish,
    note: str | None = None,
) -> Command:
    """Send a unit to an incident: a dispatch command, the assignment, incident `assigned`,
    unit `en_route`, all audited in one transaction."""
    async with conn.transaction():
        row = await lock_incident(conn, incident)
        require(actor, "dispatch.act", row["station"])
        if row["state"] not in ASSIGNABLE:
            raise TransitionError(f"incident {incident} is {row['state']}: no unit can be assigned any more")
        u = await lock_unit(conn, unit)
        require(actor, "dispatch.act", u["station"])
        busy = await conn.fetchrow(
            """SELECT a.incident, i.state FROM assignments a JOIN incidents i ON i.id = a.incident
               WHERE a.unit = $1 AND a.released_at IS NULL ORDER BY a.assigned_at LIMIT 1""", unit
        )
        if busy is None and u["status"] not in SENDABLE:
            # the server decides who may be sent, whatever unit id the browser names
            raise QingzhiError(f"unit {unit} is {u['status'] or 'not reporting'}: only an available or patrolling "
                               "unit can be sent")
        if busy is not None and busy["incident"] == incident:
            raise QingzhiError(f"unit {unit} is already assigned to incident {incident}")
        if busy is not None:
            # reassigning: fine once the other incident is finished or the unit itself reports free
            if busy["state"] in ASSIGNABLE and u["status"] not in SENDABLE:
                raise QingzhiError(f"unit {unit} is working incident {busy['incident']}: release it there first")
            await conn.execute(
                """UPDATE assignments SET released_at = now(), released_by = $3, release_reason = 'reassigned'
                   WHERE unit = $1 AND incident = $2 AND released_at IS NULL""", unit, busy["incident"], actor.label)
            await audit.record(conn, actor, "dispatch.release", incident=busy["incident"], unit=unit,
                               details={"reason": "reassigned", "to": incident})
        text = note or " ".join(x for x in (row["type"], row["address"]) if x)
        cmd = await issue_command(
            actor, conn, u, kind="dispatch", topic_root=topic_root, publish=publish,
            incident=incident, lat=row["lat"], lon=row["lon"], note=text,
        )
        await conn.execute(
            "INSERT INTO assignments (incident, unit, command, assigned_by) VALUES ($1, $2, $3, $4)",
            incident, unit, uuid.UUID(cmd.id), actor.label,
        )
        if row["state"] == "received":
            await move(actor, conn, row, "assigned", details={"unit": unit})
        await conn.execute(
            """UPDATE units SET status = 'en_route', incident = $2, status_ts = now(),
                      version = nextval('units_version_seq') WHERE id = $1""",
            unit, incident,
        )
        await audit.record(
            conn, actor, "dispatch.assign", incident=incident, unit=unit,
            details={"command": cmd.id, "published": cmd.published, "previous_status": u["status"]},
        )
        return cmd


async def release(
    actor: Actor, conn: asyncpg.Connection, incident: str, unit: str, *, topic_root: str, publish: Publish,
    reason: str = "released",
) -> Command:
    """Take a unit off an incident (to reassign it, or when it did not acknowledge) and tell its device."""
    async with conn.transaction():
        station = await conn.fetchval("SELECT station FROM incidents WHERE id = $1", incident)
        require(actor, "dispatch.act", station)
        row = await conn.fetchrow(
            """UPDATE assignments SET released_at = now(), released_by = $3, release_reason = $4
               WHERE incident = $1 AND unit = $2 AND released_at IS NULL RETURNING id""",
            incident, unit, actor.label, reason,
        )
        if row is None:
            raise QingzhiError(f"unit {unit} is not assigned to incident {incident}")
        await free_units(conn, incident, [unit])
        u = await lock_unit(conn, unit)
        cmd = await issue_command(
            actor, conn, u, kind="message", topic_root=topic_root, publish=publish, incident=incident,
            note=f"解除警情 {incident} 任务 / released from incident {incident}",
        )
        await audit.record(conn, actor, "dispatch.release", incident=incident, unit=unit,
                           details={"reason": reason, "command": cmd.id})
        return cmd
