"""The SQL that moves an incident on; which step may follow which is qingzhi.core.lifecycle."""

from __future__ import annotations

from typing import Any

import asyncpg

from dashboard.data import audit
from qingzhi.core.lifecycle import (  # noqa: F401 - re-exported for the dispatch pages
    COMMANDER_STEPS, NEXT, OPEN, RELEASING, REVIEW_STEP, STAMP, TERMINAL, TransitionError, check_transition,
)
from qingzhi.errors import QingzhiError


async def lock_incident(conn: asyncpg.Connection, incident: str) -> asyncpg.Record:
    """The incident row, locked for this transaction; a clear error if there is none."""
    row = await conn.fetchrow("SELECT * FROM incidents WHERE id = $1 FOR UPDATE", incident)
    if row is None:
        raise QingzhiError(f"no incident {incident!r}")
    return row


async def move(
    conn: asyncpg.Connection, row: asyncpg.Record, target: str, *, by: str, screen: str | None,
    details: dict[str, Any] | None = None, merged_into: str | None = None,
) -> list[str]:
    """Check and apply one step to a locked incident row, audit it; returns units released by it."""
    check_transition(row["id"], row["state"], target)
    await conn.execute(
        f"""UPDATE incidents SET state = $2, {STAMP[target]} = coalesce({STAMP[target]}, now()),
                   merged_into = coalesce($3, merged_into), updated_at = now()
            WHERE id = $1""",
        row["id"], target, merged_into,
    )
    if target == "on_scene":  # the commander confirms arrival for the units still shown on the way
        await conn.execute(
            """UPDATE units SET status = 'on_scene', status_ts = now(), version = nextval('units_version_seq')
               WHERE incident = $1 AND status = 'en_route'
                 AND id IN (SELECT unit FROM assignments WHERE incident = $1 AND released_at IS NULL)""",
            row["id"],
        )
    released = await release_all(conn, row["id"], by=by, reason=target) if target in RELEASING else []
    await audit.record(
        conn, actor=by, action=f"incident.{target}", incident=row["id"], screen=screen,
        details={"from": row["state"], **(details or {}), **({"released": released} if released else {})},
    )
    return released


async def release_all(conn: asyncpg.Connection, incident: str, *, by: str, reason: str) -> list[str]:
    """Release every unit still assigned to the incident; units still working it become available."""
    units = [
        r["unit"]
        for r in await conn.fetch(
            """UPDATE assignments SET released_at = now(), released_by = $2, release_reason = $3
               WHERE incident = $1 AND released_at IS NULL RETURNING unit""",
            incident, by, reason,
        )
    ]
    await free_units(conn, incident, units)
    return units


async def free_units(conn: asyncpg.Connection, incident: str, units: list[str]) -> None:
    """The dashboard's view of units released from an incident: available again (until the device says otherwise)."""
    if units:
        await conn.execute(
            """UPDATE units SET status = 'available', incident = NULL, status_ts = now(),
                      version = nextval('units_version_seq')
               WHERE id = ANY($1::text[]) AND incident = $2 AND status IN ('en_route', 'on_scene')""",
            units, incident,
        )


async def advance(conn: asyncpg.Connection, incident: str, target: str, *, by: str, screen: str | None) -> list[str]:
    """A commander moves an incident on (en route, on scene, handled); returns units released."""
    if target not in COMMANDER_STEPS:
        raise TransitionError(f"{target!r} is not a step a commander sets directly; use {', '.join(COMMANDER_STEPS)}")
    async with conn.transaction():
        return await move(conn, await lock_incident(conn, incident), target, by=by, screen=screen)


async def cancel(conn: asyncpg.Connection, incident: str, *, by: str, screen: str | None, reason: str) -> list[str]:
    """Cancel an open incident (a false call, say); returns units released."""
    if not reason.strip():
        raise QingzhiError("give a reason for cancelling")
    async with conn.transaction():
        row = await lock_incident(conn, incident)
        return await move(conn, row, "cancelled", by=by, screen=screen, details={"reason": reason.strip()})


async def merge(conn: asyncpg.Connection, incident: str, into: str, *, by: str, screen: str | None) -> list[str]:
    """Mark `incident` a duplicate of `into` (which must be a different incident, still open)."""
    if incident == into:
        raise TransitionError(f"incident {incident} cannot be merged into itself")
    async with conn.transaction():
        target = await conn.fetchrow("SELECT id, state FROM incidents WHERE id = $1", into)
        if target is None:
            raise QingzhiError(f"no incident {into!r} to merge into")
        if target["state"] in TERMINAL:
            raise TransitionError(f"incident {into} is {target['state']}: merge into an open incident")
        row = await lock_incident(conn, incident)
        return await move(conn, row, "merged", by=by, screen=screen, details={"into": into}, merged_into=into)


async def record_review(
    conn: asyncpg.Connection, incident: str, step: str, *, by: str, result: str,
    satisfaction: int | None, note: str | None = None, screen: str | None = None,
) -> None:
    """The feedback (handled → feedback) or review (feedback → closed) step, with who, result, rating."""
    if step not in REVIEW_STEP:
        raise QingzhiError(f"unknown review step {step!r}: feedback or review")
    if not result or not result.strip():
        raise QingzhiError(f"{step}: a result is required")
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise QingzhiError(f"{step}: satisfaction must be 1 to 5, not {satisfaction}")
    async with conn.transaction():
        row = await lock_incident(conn, incident)
        check_transition(incident, row["state"], REVIEW_STEP[step])
        await conn.execute(
            """INSERT INTO incident_reviews (incident, step, by_whom, result, satisfaction, note)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            incident, step, by, result.strip(), satisfaction, note,
        )
        await move(conn, row, REVIEW_STEP[step], by=by, screen=screen,
                   details={"result": result.strip(), "satisfaction": satisfaction})


async def reviews(conn: asyncpg.Connection, incident: str) -> list[dict[str, Any]]:
    """The feedback and review records of an incident, oldest first."""
    rows = await conn.fetch(
        "SELECT step, ts, by_whom, result, satisfaction, note FROM incident_reviews WHERE incident = $1 ORDER BY ts",
        incident,
    )
    return [dict(r) for r in rows]

