"""Follow-up tasks (警源治理): a repeat-call flag handed to a community officer and closed to the end,
交办 → 核查 → 处置 → 反馈 → 评价 → 问效:

  open → assigned (to a station, a named community officer and optionally a grid worker, with a
  deadline; the task slip goes to the officer's device as a `message` command) → verified (what was
  found) → handled (what was done) → reported (what the caller was told) → rated (1–5) → the effect
  check by the duty loop `effect_days` later: closed if the calls stopped, else reopened (back to
  assigned) and, after `max_reopen` reopenings, escalated (a commander assigns it again).

Every step is a row of followup_steps (who, when, text, its deadline and whether it was late) and an
audit entry, in one transaction; each person's step checks `followup.act` at the task's station.
Steps past their deadline raise a `followup_overdue` alert (the duty loop, `overdue_steps`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg

from qingzhi.core import audit
from qingzhi.core.access import require
from qingzhi.core.actor import Actor
from qingzhi.core.dispatch import Publish, issue_command
from qingzhi.core.texts import free_text
from qingzhi.core.dispatch_config import DispatchConfig, load_config
from qingzhi.core.grids import grid_at
from qingzhi.core.moves import lock_unit
from qingzhi.core.repeats import cell_incidents
from qingzhi.errors import QingzhiError

STEPS = ("assigned", "verified", "handled", "reported", "rated")  # 交办 核查 处置 反馈 评价; 问效 is the check
FOLLOWUP_NEXT = {"open": "assigned", "assigned": "verified", "verified": "handled", "handled": "reported",
                 "reported": "rated", "escalated": "assigned"}
LIVE = ("open", "assigned", "verified", "handled", "reported", "escalated")  # waiting for a person's step
TEXT_STEPS = {"verified": "say what was found", "handled": "say what was done",
              "reported": "say what the caller was told"}
MAX_TEXT = 500
MAX_NAME = 100  # an officer's or grid worker's name, a station or unit id
MAX_DEADLINE_DAYS = 90  # a follow-up is governance of this season's calls; a later date is a typo (or 9999)


async def _lock(conn: asyncpg.Connection, task: int) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM followups WHERE id = $1 FOR UPDATE", task)
    if row is None:
        raise QingzhiError(f"no follow-up task {task}")
    return row


async def _step(conn: asyncpg.Connection, actor: Actor, row: asyncpg.Record, step: str, *, text: str | None = None,
                rating: int | None = None, command: str | None = None, details: dict[str, Any] | None = None) -> None:
    """Append the step row (late if past the deadline of the step it ends) and its audit entry."""
    late = await conn.fetchval(
        """INSERT INTO followup_steps (task, step, actor, text, rating, due_at, late, command, details)
           VALUES ($1, $2, $3, $4, $5, $6, coalesce($6 < clock_timestamp(), false), $7::uuid, $8::jsonb)
           RETURNING late""",
        row["id"], step, actor.label, text, rating, row["due_at"], command,
        json.dumps(details, ensure_ascii=False, default=str) if details else None)
    await audit.record(conn, actor, f"followup.{step}",
                       details={"task": row["id"], "text": text, "rating": rating, "late": late,
                                "command": command, **(details or {})})


def step_due(cfg: DispatchConfig, step: str | None) -> dt.datetime | None:
    """When a step begun now is due, by the configured hours (None: that step has no deadline)."""
    hours = cfg.followup.step_hours.get(step or "")
    return None if hours is None else dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)


def _check_text(value: str | None, what: str) -> str:
    text = free_text(value, "text", MAX_TEXT)
    if not text:
        raise QingzhiError(what)
    return text


def _check_name(value: str | None, what: str) -> str | None:
    """A name or id as typed: stripped, None if blank; too long or with control characters is an error."""
    text = (value or "").strip()
    if len(text) > MAX_NAME or any(not c.isprintable() for c in text):
        raise QingzhiError(f"{what}: at most {MAX_NAME} printable characters")
    return text or None


def check_deadline(due: dt.datetime, now: dt.datetime | None = None) -> dt.datetime:
    """A task's deadline: timezone-aware, in the future and at most MAX_DEADLINE_DAYS ahead."""
    now = now or dt.datetime.now(dt.UTC)
    if due.tzinfo is None:
        raise QingzhiError("the deadline needs a time zone")
    if not now < due <= now + dt.timedelta(days=MAX_DEADLINE_DAYS):
        raise QingzhiError(f"the deadline must be in the future and within {MAX_DEADLINE_DAYS} days")
    return due


async def create_followup(actor: Actor, conn: asyncpg.Connection, flag: dict[str, Any]) -> int:
    """Make a follow-up task from a flag (one live task per flag); returns its id. The grid its place
    falls in is noted, so that assigning it goes to that grid's officer by default."""
    require(actor, "followup.act", flag.get("station"))
    title = f"{flag['kind']} {flag['label']}: {flag['count']}"
    cfg = await load_config(conn)
    async with conn.transaction():
        grid = await grid_at(conn, flag.get("lat"), flag.get("lon"), flag.get("station"))
        try:
            task = await conn.fetchval(
                """INSERT INTO followups (flag_kind, flag_key, title, incidents, station, created_by, subject, lat, lon,
                                          reason, grid, due_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12) RETURNING id""",
                flag["kind"], flag["key"], title, flag["incidents"], flag.get("station"), actor.label,
                flag.get("subject"), flag.get("lat"), flag.get("lon"),
                json.dumps(flag.get("reason"), ensure_ascii=False), grid and grid["id"], step_due(cfg, "assigned"),
            )
        except asyncpg.UniqueViolationError:
            raise QingzhiError(f"flag {flag['key']} already has a follow-up task in progress") from None
        row = await conn.fetchrow("SELECT * FROM followups WHERE id = $1", task)
        await _step(conn, actor, row, "open", details={"flag": flag["key"], "incidents": flag["incidents"]})
    return task


def slip_text(row: asyncpg.Record | dict[str, Any], due: dt.datetime | None) -> str:
    """The task slip (警单) as the officer's device shows it."""
    reason = json.loads(row["reason"]) if isinstance(row["reason"], str) else (row["reason"] or {})
    parts = [f"警单 #{row['id']} {row['title']}", reason.get("zh") or "", f"涉及警情 {len(row['incidents'])} 起",
             f"期限 {due:%Y-%m-%d %H:%M} UTC" if due else ""]
    return " · ".join(p for p in parts if p)[:MAX_TEXT]


async def assign_followup(
    actor: Actor, conn: asyncpg.Connection, task: int, *, topic_root: str, publish: Publish,
    officer: str | None = None, station: str | None = None, unit: str | None = None, grid_worker: str | None = None,
    due: dt.datetime | None = None,
) -> str | None:
    """交办: give an open (or escalated) task to a station and a named community officer (by default the
    officer of the task's grid), optionally a grid worker, with a deadline; send the slip to the officer's
    device (`unit`, by default the grid's) as a `message` command. Returns the command id, if one was sent."""
    cfg = await load_config(conn)
    async with conn.transaction():
        row = await _lock(conn, task)
        grid = await conn.fetchrow("SELECT * FROM grids WHERE id = $1", row["grid"]) if row["grid"] else None
        station = _check_name(station, "station") or row["station"]
        require(actor, "followup.act", row["station"], station)
        if FOLLOWUP_NEXT.get(row["state"]) != "assigned":
            raise QingzhiError(f"follow-up task {task} is {row['state']}: it cannot be assigned now")
        officer = _check_name(officer, "the community officer") or (grid and grid["officer"]) or ""
        if not officer:
            raise QingzhiError("name the community officer the task goes to (or load the station's grids)")
        unit = _check_name(unit, "the officer's unit") or (grid["unit"] if grid and grid["officer"] == officer else None)
        worker = _check_name(grid_worker, "the grid worker") or (grid and grid["grid_worker"]) or None
        due = check_deadline(due) if due is not None else step_due(cfg, "verified")
        if due is None:
            raise QingzhiError("give the task a deadline")
        command = None
        if unit:
            u = await lock_unit(conn, unit)
            if u["station"] != station:
                raise QingzhiError(f"unit {unit} belongs to station {u['station']}, not {station}")
            command = (await issue_command(actor, conn, u, kind="message", topic_root=topic_root, publish=publish,
                                           lat=row["lat"], lon=row["lon"], note=slip_text(row, due), task=task)).id
        await conn.execute(
            """UPDATE followups SET state = 'assigned', station = $2, officer = $3, unit = $4, grid_worker = $5,
                      assigned_at = coalesce(assigned_at, now()), step_at = now(), due_at = $6
               WHERE id = $1""",
            task, station, officer, unit, worker, due)
        await _step(conn, actor, row, "assigned", text=officer, command=command,
                    details={"station": station, "unit": unit, "grid_worker": worker, "due": due.isoformat()})
    return command


async def record_step(actor: Actor, conn: asyncpg.Connection, task: int, step: str, *, text: str | None = None,
                      rating: int | None = None) -> None:
    """核查 (verified: what was found), 处置 (handled: what was done), 反馈 (reported: what the caller was
    told) or 评价 (rated 1–5, with an optional note); each only after the one before."""
    if step not in STEPS[1:]:
        raise QingzhiError(f"unknown follow-up step {step!r}: {', '.join(STEPS[1:])}")
    if step in TEXT_STEPS:
        text = _check_text(text, TEXT_STEPS[step])
    elif rating is None or not 1 <= rating <= 5:
        raise QingzhiError(f"a rating is 1 to 5, not {rating}")
    elif text is not None:
        text = text.strip()[:MAX_TEXT] or None
    cfg = await load_config(conn)
    async with conn.transaction():
        row = await _lock(conn, task)
        require(actor, "followup.act", row["station"])
        if FOLLOWUP_NEXT.get(row["state"]) != step:
            nxt = FOLLOWUP_NEXT.get(row["state"], "nothing")
            raise QingzhiError(f"follow-up task {task} is {row['state']}: next is {nxt}, not {step}")
        nxt = FOLLOWUP_NEXT.get(step)
        check_at = dt.datetime.now(dt.UTC) + dt.timedelta(days=cfg.followup.effect_days) if step == "rated" else None
        await conn.execute(
            """UPDATE followups SET state = $2, step_at = now(), due_at = $3, check_at = coalesce($4, check_at),
                      result = CASE WHEN $2 = 'handled' THEN $5 ELSE result END,
                      done_at = CASE WHEN $2 = 'handled' THEN now() ELSE done_at END,
                      satisfaction = coalesce($6, satisfaction),
                      reviewed_at = CASE WHEN $2 = 'rated' THEN now() ELSE reviewed_at END,
                      reviewed_by = CASE WHEN $2 = 'rated' THEN $7 ELSE reviewed_by END
               WHERE id = $1""",
            task, step, step_due(cfg, nxt) if step != "rated" else None, check_at, text, rating, actor.label)
        await _step(conn, actor, row, step, text=text, rating=rating)


async def subject_calls(conn: asyncpg.Connection, row: asyncpg.Record | dict[str, Any], since: dt.datetime,
                        until: dt.datetime) -> int:
    """Calls in [since, until) of the subject a task was made for: its caller, place cell or station and type."""
    kind, subject = row["flag_kind"], row["subject"]
    if not subject:
        return 0
    if kind == "caller":
        return await conn.fetchval("""SELECT count(*) FROM incidents WHERE caller_hash = $1 AND ts >= $2 AND ts < $3
                                      AND state <> 'merged'""", subject, since, until)
    if kind == "surge":
        area, _, typ = subject.partition("|")
        return await conn.fetchval(
            """SELECT count(*) FROM incidents WHERE type = $1 AND ($2 = '-' OR station = $2) AND ts >= $3 AND ts < $4
               AND state <> 'merged'""", typ, area, since, until)
    return len(await cell_incidents(conn, subject, since, until))


async def effect_checks(conn: asyncpg.Connection, cfg: DispatchConfig, now: dt.datetime | None = None) -> dict[str, int]:
    """问效, run by the duty loop: every rated task whose check is due counts its subject's calls since the
    task was made (since its last check, once reopened) against as long a period before it was made;
    closed (effective) if they fell to `effect_ratio` or less, else reopened, or escalated (with an
    alert) once reopened `max_reopen` times."""
    now = now or dt.datetime.now(dt.UTC)
    actor = Actor.system("effect_check")
    done = {"closed": 0, "reopened": 0, "escalated": 0}
    due_ids = [r["id"] for r in await conn.fetch(
        "SELECT id FROM followups WHERE state = 'rated' AND check_at <= $1 ORDER BY id", now)]
    for task in due_ids:
        async with conn.transaction():
            row = await _lock(conn, task)
            if row["state"] != "rated":
                continue
            # since the task was made, or since its last check if it was reopened; against a period as
            # long just before the task was made
            last = await conn.fetchval("SELECT max(ts) FROM followup_steps WHERE task = $1 AND step = 'checked'", task)
            since = last or row["created_at"]
            after = await subject_calls(conn, row, since, now)
            before = await subject_calls(conn, row, row["created_at"] - (now - since), row["created_at"])
            effective = after <= cfg.followup.effect_ratio * before
            outcome = ("closed" if effective else
                       "reopened" if row["reopened"] < cfg.followup.max_reopen else "escalated")
            reopen = outcome == "reopened"
            await conn.execute(
                """UPDATE followups SET state = $2, effective = $3, step_at = now(), due_at = $4,
                          reopened = reopened + $5::int, check_at = NULL,
                          closed_at = CASE WHEN $2 = 'closed' THEN now() END
                   WHERE id = $1""",
                task, "assigned" if reopen else outcome, effective, step_due(cfg, "verified") if reopen else None, int(reopen))
            await _step(conn, actor, row, "checked", text=outcome,
                        details={"before": before, "after": after, "since": since, "effective": effective})
            if outcome == "escalated":
                await conn.execute(
                    """INSERT INTO alerts (ts, kind, severity, subject, station, detail)
                       VALUES ($1, 'followup_escalated', 2, $2, $3, $4::jsonb) ON CONFLICT DO NOTHING""",
                    row["check_at"], f"followup:{task}", row["station"],
                    json.dumps({"task": task, "before": before, "after": after, "title": row["title"]},
                               ensure_ascii=False))
            done[outcome] += 1
    return done


async def overdue_steps(conn: asyncpg.Connection) -> int:
    """One `followup_overdue` alert per task step past its deadline (ts: the deadline, so raised once)."""
    status = await conn.execute(
        f"""INSERT INTO alerts (ts, kind, severity, subject, station, detail)
            SELECT f.due_at, 'followup_overdue', 3, 'followup:' || f.id, f.station,
                   jsonb_build_object('task', f.id, 'state', f.state, 'officer', f.officer, 'title', f.title)
            FROM followups f
            WHERE f.due_at < now() AND f.state IN ({', '.join(repr(s) for s in LIVE)})
            ON CONFLICT (kind, subject, ts) DO NOTHING""")
    return int(status.split()[-1])


async def tasks(conn: asyncpg.Connection, *, include_closed: bool = False, limit: int = 200,
                stations: list[str] | None = None) -> list[dict[str, Any]]:
    """Follow-up tasks (of these stations; None: all), unfinished first, newest first, each with its
    slip's command and ack time, its grid's officer, unit and worker (grid_officer, grid_unit,
    grid_helper: what 交办 defaults to) and its steps."""
    rows = await conn.fetch(
        """SELECT f.*, c.id AS slip, c.ack_recv_ts AS slip_ack,
                  g.officer AS grid_officer, g.unit AS grid_unit, g.grid_worker AS grid_helper
           FROM followups f LEFT JOIN grids g ON g.id = f.grid
           LEFT JOIN LATERAL (SELECT id, ack_recv_ts FROM commands WHERE task = f.id ORDER BY ts DESC LIMIT 1) c ON true
           WHERE ($1 OR f.state <> 'closed') AND ($3::text[] IS NULL OR f.station = ANY($3))
           ORDER BY f.state = 'closed', f.created_at DESC LIMIT $2""",
        include_closed, min(max(limit, 1), 5000), stations)
    steps = await steps_of(conn, [r["id"] for r in rows])
    return [{**dict(r), "reason": json.loads(r["reason"]) if r["reason"] else None, "steps": steps.get(r["id"], [])}
            for r in rows]


async def steps_of(conn: asyncpg.Connection, task_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The steps of these tasks, oldest first, by task."""
    out: dict[int, list[dict[str, Any]]] = {}
    for r in await conn.fetch("""SELECT task, step, ts, actor, text, rating, due_at, late, command
                                 FROM followup_steps WHERE task = ANY($1::bigint[]) ORDER BY id""", task_ids):
        out.setdefault(r["task"], []).append({k: r[k] for k in r.keys() if k != "task"})
    return out
