"""What a commander does to an incident besides assigning units: record one entered by hand,
move it on, cancel it, divert it to another agency, merge a duplicate, record feedback and review. Each takes the Actor
first, checks its input, and audits in the same transaction as the change."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from qingzhi.core import audit
from qingzhi.core.access import require
from qingzhi.core.actor import Actor
from qingzhi.core.dispatch_config import load_config
from qingzhi.core.incidents import TEXT_MAX, check_priority, derive
from qingzhi.core.lifecycle import COMMANDER_STEPS, REVIEW_STEP, TERMINAL, TransitionError, check_transition
from qingzhi.core.moves import lock_incident, move
from qingzhi.core.stations import StationLocator
from qingzhi.core.texts import free_text
from qingzhi.errors import QingzhiError

REASON_MAX, REVIEW_MAX = 200, 500   # a cancellation's reason; a feedback or review's result and note

async def create_incident(
    actor: Actor, conn: asyncpg.Connection, *, lat: float, lon: float, type: str, priority: int, tz: str,
    address: str | None = None, summary: str | None = None, caller: str | None = None, caller_key: str = "",
) -> str:
    """Record a walk-in or radio report (source 'form'), derived as the ingest derives a 110 call;
    its type must be a code. Returns its id."""
    check_priority(priority)
    address, summary = free_text(address, "address", TEXT_MAX), free_text(summary, "summary", TEXT_MAX)
    caller = free_text(caller, "caller", TEXT_MAX)
    now = dt.datetime.now(ZoneInfo(tz))
    incident = f"F{now:%Y%m%d%H%M%S}{secrets.token_hex(2).upper()}"
    async with conn.transaction():
        stations = StationLocator.from_rows(await conn.fetch("SELECT id, lat, lon, boundary FROM stations"))
        d = derive(type, lat, lon, caller=caller, caller_key=caller_key, stations=stations, code=True)
        require(actor, "dispatch.act", d.station)
        await conn.execute(
            """INSERT INTO incidents (id, ts, lat, lon, type, category, priority, address, summary,
                                      caller_hash, station, source)
               VALUES ($1, now(), $2, $3, $4, $5, $6, $7, $8, $9, $10, 'form')""",
            incident, lat, lon, d.type, d.category, priority, address, summary,
            d.caller_hash, d.station,
        )
        await audit.record(conn, actor, "incident.create", incident=incident,
                           details={"type": d.type, "priority": priority, "lat": lat, "lon": lon})
    return incident


async def advance(actor: Actor, conn: asyncpg.Connection, incident: str, target: str) -> list[str]:
    """A commander moves an incident on (en route, on scene, handled); returns units released."""
    if target not in COMMANDER_STEPS:
        raise TransitionError(f"{target!r} is not a step a commander sets directly; use {', '.join(COMMANDER_STEPS)}")
    async with conn.transaction():
        return await move(actor, conn, await lock_incident(conn, incident), target)


async def cancel(actor: Actor, conn: asyncpg.Connection, incident: str, *, reason: str) -> list[str]:
    """Cancel an open incident (a false call, say); returns units released."""
    reason = free_text(reason, "reason for cancelling", REASON_MAX)
    if reason is None:
        raise QingzhiError("give a reason for cancelling")
    async with conn.transaction():
        row = await lock_incident(conn, incident)
        return await move(actor, conn, row, "cancelled", details={"reason": reason})


async def divert(actor: Actor, conn: asyncpg.Connection, incident: str, *, agency: str, reason: str) -> list[str]:
    """Close an incident as diverted (非警务事项分流转办) to an agency of the configured list, with the
    reason; returns units released."""
    agencies = {a.id: a for a in (await load_config(conn)).agencies}
    if agency not in agencies:
        raise QingzhiError(f"unknown agency {agency!r}: one of {', '.join(agencies)}")
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise QingzhiError("give the reason for diverting (at most 200 characters)")
    async with conn.transaction():
        row = await lock_incident(conn, incident)
        released = await move(actor, conn, row, "diverted", details={"agency": agency, "reason": reason})
        await conn.execute("UPDATE incidents SET diverted_to = $2, divert_reason = $3 WHERE id = $1",
                           incident, agency, reason)
        return released


async def merge(actor: Actor, conn: asyncpg.Connection, incident: str, into: str) -> list[str]:
    """Mark `incident` a duplicate of `into` (which must be a different incident, still open)."""
    if incident == into:
        raise TransitionError(f"incident {incident} cannot be merged into itself")
    async with conn.transaction():
        target = await conn.fetchrow("SELECT id, state, station FROM incidents WHERE id = $1", into)
        if target is None:
            raise QingzhiError(f"no incident {into!r} to merge into")
        require(actor, "dispatch.act", target["station"])
        if target["state"] in TERMINAL:
            raise TransitionError(f"incident {into} is {target['state']}: merge into an open incident")
        row = await lock_incident(conn, incident)
        return await move(actor, conn, row, "merged", details={"into": into}, merged_into=into)


async def record_review(
    actor: Actor, conn: asyncpg.Connection, incident: str, step: str, *, result: str,
    satisfaction: int | None, note: str | None = None,
) -> None:
    """The feedback (handled → feedback) or review (feedback → closed) step, with who, result, rating."""
    if step not in REVIEW_STEP:
        raise QingzhiError(f"unknown review step {step!r}: feedback or review")
    result = free_text(result, f"{step} result", REVIEW_MAX)
    if result is None:
        raise QingzhiError(f"{step}: a result is required")
    note = free_text(note, f"{step} note", REVIEW_MAX)
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise QingzhiError(f"{step}: satisfaction must be 1 to 5, not {satisfaction}")
    async with conn.transaction():
        row = await lock_incident(conn, incident)
        check_transition(incident, row["state"], REVIEW_STEP[step])
        await conn.execute(
            """INSERT INTO incident_reviews (incident, step, by_whom, result, satisfaction, note)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            incident, step, actor.label, result, satisfaction, note,
        )
        await move(actor, conn, row, REVIEW_STEP[step], details={"result": result, "satisfaction": satisfaction})


async def reviews(conn: asyncpg.Connection, incident: str) -> list[dict[str, Any]]:
    """The feedback and review records of an incident, oldest first."""
    rows = await conn.fetch(
        "SELECT step, ts, by_whom, result, satisfaction, note FROM incident_reviews WHERE incident = $1 ORDER BY ts",
        incident,
    )
    return [dict(r) for r in rows]
