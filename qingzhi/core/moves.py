"""The SQL that moves an incident on; which step may follow which is lifecycle.py's table.

Every move is checked against that table and audited with its actor, whoever asks: a
commander's action, a device's status report or the system.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from qingzhi.core import audit
from qingzhi.core.access import require
from qingzhi.core.actor import Actor
from qingzhi.core.lifecycle import RELEASING, STAMP, check_transition
from qingzhi.errors import QingzhiError


async def _locked(conn: asyncpg.Connection, sql: str, what: str, key: str) -> asyncpg.Record:
    row = await conn.fetchrow(sql, key)
    if row is None:
        raise QingzhiError(f"no {what} {key!r}")
    return row


async def lock_incident(conn: asyncpg.Connection, incident: str) -> asyncpg.Record:
    """The incident row, locked for this transaction; a clear error if there is none."""
    return await _locked(conn, "SELECT * FROM incidents WHERE id = $1 FOR UPDATE", "incident", incident)


async def lock_unit(conn: asyncpg.Connection, unit: str) -> asyncpg.Record:
    """The unit's id, station, status and incident, locked for this transaction; an error if unknown."""
    return await _locked(conn, "SELECT id, station, status, incident FROM units WHERE id = $1 FOR UPDATE",
                         "unit", unit)


async def move(
    actor: Actor, conn: asyncpg.Connection, row: asyncpg.Record, target: str, *,
    details: dict[str, Any] | None = None, merged_into: str | None = None,
) -> list[str]:
    """Check (the actor's right at the incident's station, then the transition) and apply one step to a locked incident row, audit it; returns units released by it."""
    require(actor, "dispatch.act", row["station"])
    check_transition(row["id"], row["state"], target)
    await conn.execute(
        f"""UPDATE incidents SET state = $2, {STAMP[target]} = coalesce({STAMP[target]}, now()),
                   merged_into = coalesce($3, merged_into), updated_at = now()
            WHERE id = $1""",
        row["id"], target, merged_into,
    )
    if target == "on_scene":  # arrival confirmed for the units still shown on the way
        await conn.execute(
            """UPDATE units SET status = 'on_scene', status_ts = now(), version = nextval('units_version_seq')
               WHERE incident = $1 AND status = 'en_route'
                 AND id IN (SELECT unit FROM assignments WHERE incident = $1 AND released_at IS NULL)""",
            row["id"],
        )
    released = await release_all(actor, conn, row["id"], reason=target) if target in RELEASING else []
    await audit.record(
        conn, actor, f"incident.{target}", incident=row["id"],
        details={"from": row["state"], **(details or {}), **({"released": released} if released else {})},
    )
    return released


async def release_all(actor: Actor, conn: asyncpg.Connection, incident: str, *, reason: str) -> list[str]:
    """Release every unit still assigned to the incident; units still working it become available."""
    units = [
        r["unit"]
        for r in await conn.fetch(
            """UPDATE assignments SET released_at = now(), released_by = $2, release_reason = $3
               WHERE incident = $1 AND released_at IS NULL RETURNING unit""",
            incident, actor.label, reason,
        )
    ]
    await free_units(conn, incident, units)
    return units


async def free_units(conn: asyncpg.Connection, incident: str, units: list[str]) -> None:
    """Units released from an incident are available again (until their device says otherwise)."""
    if units:
        await conn.execute(
            """UPDATE units SET status = 'available', incident = NULL, status_ts = now(),
                      version = nextval('units_version_seq')
               WHERE id = ANY($1::text[]) AND incident = $2 AND status IN ('en_route', 'on_scene')""",
            units, incident,
        )
