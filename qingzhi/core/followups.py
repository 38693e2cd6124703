"""Follow-up tasks (警源治理): a repeat-incident flag handed to a community officer,
open → assigned (to an officer) → done (with what was done) → reviewed (optionally rated).
Each action takes the Actor first and is audited in its transaction."""

from __future__ import annotations

from typing import Any

import asyncpg

from qingzhi.core import audit
from qingzhi.core.access import require
from qingzhi.core.actor import Actor
from qingzhi.errors import QingzhiError

FOLLOWUP_NEXT = {"open": "assigned", "assigned": "done", "done": "reviewed"}


async def create_followup(actor: Actor, conn: asyncpg.Connection, flag: dict[str, Any]) -> int:
    """Make a follow-up task from a flag (one live task per flag); returns its id."""
    require(actor, "dispatch.act", flag.get("station"))
    title = f"{flag['kind']} {flag['label']}: {flag['count']}"
    async with conn.transaction():
        try:
            task = await conn.fetchval(
                """INSERT INTO followups (flag_kind, flag_key, title, incidents, station, created_by)
                   VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
                flag["kind"], flag["key"], title, flag["incidents"], flag.get("station"), actor.label,
            )
        except asyncpg.UniqueViolationError:
            raise QingzhiError(f"flag {flag['key']} already has a follow-up task in progress") from None
        await audit.record(conn, actor, "followup.create",
                           details={"task": task, "flag": flag["key"], "incidents": flag["incidents"]})
    return task


async def advance_followup(
    actor: Actor, conn: asyncpg.Connection, task: int, target: str, *, officer: str | None = None,
    result: str | None = None, satisfaction: int | None = None,
) -> None:
    """Move a task one step: assigned (needs officer), done (needs result), reviewed (optional rating)."""
    async with conn.transaction():
        found = await conn.fetchrow("SELECT state, station FROM followups WHERE id = $1 FOR UPDATE", task)
        if found is None:
            raise QingzhiError(f"no follow-up task {task}")
        require(actor, "dispatch.act", found["station"])
        state = found["state"]
        if FOLLOWUP_NEXT.get(state) != target:
            raise QingzhiError(f"follow-up task {task} is {state}: next is {FOLLOWUP_NEXT.get(state, 'nothing')}, not {target}")
        if target == "assigned" and not (officer or "").strip():
            raise QingzhiError("name the community officer the task goes to")
        if target == "done" and not (result or "").strip():
            raise QingzhiError("say what was done")
        if satisfaction is not None and not 1 <= satisfaction <= 5:
            raise QingzhiError(f"satisfaction must be 1 to 5, not {satisfaction}")
        await conn.execute(
            """UPDATE followups SET state = $2,
                   officer = coalesce($3, officer), assigned_at = CASE WHEN $2 = 'assigned' THEN now() ELSE assigned_at END,
                   result = coalesce($4, result), done_at = CASE WHEN $2 = 'done' THEN now() ELSE done_at END,
                   reviewed_at = CASE WHEN $2 = 'reviewed' THEN now() ELSE reviewed_at END,
                   reviewed_by = CASE WHEN $2 = 'reviewed' THEN $5 ELSE reviewed_by END,
                   satisfaction = coalesce($6, satisfaction)
               WHERE id = $1""",
            task, target, (officer or "").strip() or None, (result or "").strip() or None, actor.label, satisfaction,
        )
        await audit.record(conn, actor, f"followup.{target}",
                           details={"task": task, "officer": officer, "result": result, "satisfaction": satisfaction})
