"""Meeting tasks (督办): created from a briefing for a station (or the whole centre) and an
officer, with a deadline; completed with what was done. Each action takes the Actor first,
checks `briefing.act` at the task's station and is audited in its transaction. A briefing lists
the tasks live during its period with their status at its end: done, overdue or open."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from qingzhi.core import audit
from qingzhi.core.access import require
from qingzhi.core.actor import Actor
from qingzhi.core.row_ids import row_id
from qingzhi.core.texts import free_text
from qingzhi.errors import QingzhiError

TITLE_MAX, OFFICER_MAX, RESULT_MAX = 200, 64, 500
LONGEST = dt.timedelta(days=366)  # a deadline further out is a typing mistake


def _text(value: object, what: str, top: int, *, required: bool) -> str | None:
    text = free_text(value, what, top)
    if text is None and required:
        raise QingzhiError(f"a task needs its {what}")
    return text if text is None or what == "result" else " ".join(text.split())


async def create_task(
    actor: Actor, conn: asyncpg.Connection, *, title: str, deadline: dt.datetime, period: str,
    station: str | None = None, officer: str | None = None,
) -> int:
    """Record a task from the briefing of `period`; returns its id."""
    require(actor, "briefing.act", station)
    title_ = _text(title, "title", TITLE_MAX, required=True)
    officer_ = _text(officer, "officer", OFFICER_MAX, required=False)
    if deadline.tzinfo is None:
        raise QingzhiError("the deadline needs a time zone")
    now = dt.datetime.now(dt.UTC)
    if not now - dt.timedelta(days=1) <= deadline <= now + LONGEST:
        raise QingzhiError("the deadline must be from today to a year ahead")
    async with conn.transaction():
        if station is not None and not await conn.fetchval("SELECT 1 FROM stations WHERE id = $1", station):
            raise QingzhiError(f"no station {station!r}")
        task = await conn.fetchval(
            """INSERT INTO briefing_tasks (created_by, period, station, officer, title, deadline)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
            actor.label, period[:64], station, officer_, title_, deadline,
        )
        await audit.record(conn, actor, "briefing.task.create",
                           details={"task": task, "station": station, "officer": officer_, "title": title_,
                                    "deadline": deadline.isoformat(), "period": period[:64]})
    return task


async def complete_task(actor: Actor, conn: asyncpg.Connection, task: object, *, result: str) -> None:
    """Mark a task done with what was done (`task`: its id as the page sends it back)."""
    task = row_id(task, "task")
    result_ = _text(result, "result", RESULT_MAX, required=True)
    async with conn.transaction():
        row = await conn.fetchrow("SELECT station, done_at FROM briefing_tasks WHERE id = $1 FOR UPDATE", task)
        if row is None:
            raise QingzhiError(f"no task {task}")
        require(actor, "briefing.act", row["station"])
        if row["done_at"] is not None:
            raise QingzhiError(f"task {task} is already done")
        await conn.execute("UPDATE briefing_tasks SET done_at = now(), done_by = $2, result = $3 WHERE id = $1",
                           task, actor.label, result_)
        await audit.record(conn, actor, "briefing.task.done", details={"task": task, "result": result_})


def status_at(task: dict[str, Any], moment: dt.datetime) -> str:
    """`done` (by then), `overdue` (deadline passed, not done) or `open`."""
    if task["done_at"] is not None and task["done_at"] < moment:
        return "done"
    return "overdue" if task["deadline"] < moment else "open"


async def tasks_for(
    conn: asyncpg.Connection, since: dt.datetime, until: dt.datetime, stations: list[str] | None, label: str,
) -> list[dict[str, Any]]:
    """Tasks live during the period (made before its end, not done before its start) with their
    status at its end, and the tasks made from this briefing (`label`) with their status now; a
    station-limited reader sees its stations' tasks, not the centre's."""
    now = dt.datetime.now(dt.UTC)
    rows = await conn.fetch(
        """SELECT id, created_at, created_by, period, station, officer, title, deadline, done_at, done_by, result
           FROM briefing_tasks
           WHERE ((created_at < $2 AND (done_at IS NULL OR done_at >= $1)) OR period = $4)
             AND ($3::text[] IS NULL OR station = ANY($3::text[]))
           ORDER BY deadline, id""",
        since, until, stations, label,
    )
    return [{**dict(r), "status": status_at(dict(r), now if r["created_at"] >= until else min(until, now))}
            for r in rows]
