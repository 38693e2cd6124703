"""The full trace of an incident (全溯源), in time order: every state change (the lifecycle's stamps
and the audit log), command and its ack, assignment and release, status message of the units on it,
camera state of those units while they were on it, feedback and review, and the linked repeats (the
same caller's other calls, other incidents at the same place around its time, merged duplicates) and follow-up tasks with their steps and slips.

The history tables are day-partitioned by time, so every read of them is bounded by the incident's
own time span (plus a day), which keeps a trace fast however long the history is.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg
import h3

from qingzhi.core.dispatch_config import load_config
from qingzhi.core.lifecycle import STAMP
from qingzhi.core.repeats import cell_incidents

MARGIN = dt.timedelta(days=1)
LINKED_LIMIT = 50


def _event(ts: dt.datetime | None, kind: str, what: str, **more: Any) -> dict[str, Any]:
    return {"ts": ts, "kind": kind, "what": what, **{k: v for k, v in more.items() if v is not None}}


async def _span(conn: asyncpg.Connection, inc: asyncpg.Record) -> tuple[dt.datetime, dt.datetime]:
    stamps = [inc[c] for c in set(STAMP.values()) if inc[c] is not None]
    released = await conn.fetchval("SELECT max(coalesce(released_at, now())) FROM assignments WHERE incident = $1",
                                   inc["id"])
    end = max([inc["ts"], inc["updated_at"], *stamps, *([released] if released else [])])
    return inc["ts"] - dt.timedelta(hours=1), end + MARGIN


async def _unit_events(conn: asyncpg.Connection, incident: str, lo: dt.datetime, hi: dt.datetime) -> list[dict]:
    out = []
    for a in await conn.fetch("SELECT * FROM assignments WHERE incident = $1 ORDER BY assigned_at", incident):
        out.append(_event(a["assigned_at"], "assignment", "assigned", unit=a["unit"], by=a["assigned_by"]))
        if a["released_at"]:
            out.append(_event(a["released_at"], "assignment", "released", unit=a["unit"], by=a["released_by"],
                              reason=a["release_reason"]))
        for c in await conn.fetch(
                """SELECT ts, state, batt, stream_url FROM cam_states WHERE unit = $1 AND ts >= $2 AND ts <= $3
                   AND ts >= $4 AND ts <= $5 ORDER BY ts""",
                a["unit"], a["assigned_at"], a["released_at"] or hi, lo, hi):
            out.append(_event(c["ts"], "camera", c["state"], unit=a["unit"], batt=c["batt"], stream_url=c["stream_url"]))
    for s in await conn.fetch(
            """SELECT unit, ts, status, sos FROM statuses WHERE incident = $1 AND ts >= $2 AND ts <= $3 ORDER BY ts""",
            incident, lo, hi):
        out.append(_event(s["ts"], "status", s["status"], unit=s["unit"], sos=s["sos"] or None))
    for c in await conn.fetch("SELECT * FROM commands WHERE incident = $1 ORDER BY ts", incident):
        out.append(_event(c["ts"], "command", c["kind"], unit=c["unit"], by=c["issued_by"], command=str(c["id"]),
                          note=c["note"]))
        for k in await conn.fetch("SELECT unit, ts, recv_ts FROM acks WHERE command = $1 ORDER BY ts", str(c["id"])):
            out.append(_event(k["ts"], "ack", c["kind"], unit=k["unit"], command=str(c["id"])))
    return out


async def _followups(conn: asyncpg.Connection, incident: str) -> tuple[list[dict], list[dict]]:
    tasks, events = [], []
    for f in await conn.fetch("SELECT id, title, state, flag_key, officer FROM followups WHERE incidents @> ARRAY[$1]"
                              " ORDER BY id", incident):
        tasks.append(dict(f))
        for s in await conn.fetch("SELECT * FROM followup_steps WHERE task = $1 ORDER BY id", f["id"]):
            events.append(_event(s["ts"], "followup", s["step"], task=f["id"], by=s["actor"], text=s["text"],
                                 rating=s["rating"], late=s["late"] or None))
        for c in await conn.fetch("SELECT id, ts, unit, ack_ts FROM commands WHERE task = $1 ORDER BY ts", f["id"]):
            events.append(_event(c["ts"], "command", "message", task=f["id"], unit=c["unit"], command=str(c["id"])))
            if c["ack_ts"]:
                events.append(_event(c["ack_ts"], "ack", "message", task=f["id"], unit=c["unit"], command=str(c["id"])))
    return tasks, events


async def _same_place(conn: asyncpg.Connection, inc: asyncpg.Record) -> list[dict[str, Any]]:
    """Other incidents in the incident's repeat-place cell within the place window either side of it."""
    rule = (await load_config(conn)).repeat_place
    span = dt.timedelta(days=rule.days)
    cell = h3.latlng_to_cell(inc["lat"], inc["lon"], rule.h3_res)
    rows = await cell_incidents(conn, cell, inc["ts"] - span, inc["ts"] + span)
    return [r for r in rows if r["id"] != inc["id"]][:LINKED_LIMIT]


async def trace_of(conn: asyncpg.Connection, incident: str) -> dict[str, Any] | None:
    """{"incident", "events" (oldest first), "linked": {"same_caller", "same_place", "merged", "followups"}},
    or None."""
    inc = await conn.fetchrow("SELECT * FROM incidents WHERE id = $1", incident)
    if inc is None:
        return None
    lo, hi = await _span(conn, inc)
    events = [_event(inc["ts"], "state", "received", source=inc["source"])]
    events += [_event(inc[col], "state", state) for state, col in STAMP.items()
               if inc[col] is not None and not (state == "merged" and inc["state"] != "merged")
               and not (state == "closed" and inc["state"] == "merged")]
    for a in await conn.fetch("SELECT ts, actor, action, unit, details FROM audit_log WHERE incident = $1 ORDER BY id",
                              incident):
        events.append(_event(a["ts"], "audit", a["action"], by=a["actor"], unit=a["unit"],
                             details=json.loads(a["details"]) if a["details"] else None))
    for r in await conn.fetch("SELECT step, ts, by_whom, result, satisfaction FROM incident_reviews WHERE incident = $1",
                              incident):
        events.append(_event(r["ts"], "review", r["step"], by=r["by_whom"], text=r["result"], rating=r["satisfaction"]))
    events += await _unit_events(conn, incident, lo, hi)
    tasks, task_events = await _followups(conn, incident)
    events += task_events
    same_caller = [] if inc["caller_hash"] is None else [dict(r) for r in await conn.fetch(
        """SELECT id, ts, type, state FROM incidents WHERE caller_hash = $1 AND id <> $2 ORDER BY ts DESC LIMIT $3""",
        inc["caller_hash"], incident, LINKED_LIMIT)]
    same_place = await _same_place(conn, inc)
    merged = [dict(r) for r in await conn.fetch(
        "SELECT id, ts, type, state FROM incidents WHERE merged_into = $1 OR id = $2 ORDER BY ts",
        incident, inc["merged_into"])]
    order = {"state": 0, "audit": 1, "command": 2, "ack": 3}
    events.sort(key=lambda e: (e["ts"], order.get(e["kind"], 4)))
    facts = {k: v for k, v in dict(inc).items() if k not in ("caller_hash", "extra")}
    return {"incident": {**facts, "has_caller": inc["caller_hash"] is not None}, "events": events,
            "linked": {"same_caller": same_caller, "same_place": same_place, "merged": merged, "followups": tasks}}
