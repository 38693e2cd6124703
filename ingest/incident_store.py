"""110 incidents into the database, one decision per message (qingzhi.core.incident_updates).

Incidents are few (calls, not fixes), so each is decided in Python against its current row,
locked for the transaction, in arrival order: a new id is inserted, a known one updated as far
as the rules allow, every change audited with the call-taking system as the actor.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import asyncpg

from qingzhi.core import incident_updates as rules

SOURCE = "mqtt"
# Staging tuple (after the message index): the columns of Rows' incident rows.
COLUMNS = ("id", "ts_ms", "recv_ms", "lat", "lon", "type", "category", "priority", "address",
           "caller_hash", "summary", "station", "extra")
ROW_COLUMNS = ("id", "state", "source", "assigned_at", "ts", "lat", "lon", "type", "category", "priority",
               "address", "caller_hash", "summary", "station")
LOCK_KEY = 7_421_002   # advisory lock space for incident ids: two ingests never race on a new id


def utc_from_ms(ms: int) -> datetime:
    """A timestamptz value for asyncpg."""
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


async def write(conn: asyncpg.Connection, rows: list[tuple], refuse: Callable[[int, str], None]) -> None:
    """Insert or update the incidents of a batch; refuse(msg index, reason) for updates the rules refuse."""
    ids = sorted({r[1] for r in rows})
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext(i)) FROM unnest($2::text[]) AS i ORDER BY i",
                       LOCK_KEY, ids)
    current = {r["id"]: dict(r) for r in await conn.fetch(
        f"SELECT {', '.join(ROW_COLUMNS)} FROM incidents WHERE id = ANY($1::text[]) FOR UPDATE", ids)}
    new: set[str] = set()
    changed: dict[str, dict[str, Any]] = {}
    audits: list[tuple] = []
    alerts: list[tuple] = []
    for index, *values in rows:
        update = dict(zip(COLUMNS, values))
        update["ts"] = utc_from_ms(update["ts_ms"])
        iid = update["id"]
        row = current.get(iid)
        if row is None:
            current[iid] = {**update, "priority": update["priority"] or 3, "state": "received",
                            "source": SOURCE, "assigned_at": None}
            new.add(iid)
            audits.append((iid, "incident.create", {"source": SOURCE, "type": update["type"],
                                                    "priority": update["priority"] or 3}))
            continue
        decision = rules.decide(row, update, SOURCE)
        if decision.refused:
            refuse(index, decision.refused)
            continue
        if not decision.changes:
            continue                        # a redelivery, or nothing new
        audits.append((iid, "incident.update", {"source": SOURCE, "changed": rules.history(row, decision.changes)}))
        if decision.alert:
            alerts.append((iid, row["station"], sorted(set(decision.changes) & set(rules.PINNED))))
        row.update(decision.changes)
        if iid not in new:
            changed[iid] = row
    await _insert(conn, [current[i] for i in sorted(new)])
    await _update(conn, list(changed.values()))
    await _audit(conn, audits)
    await _alert(conn, alerts)


async def _insert(conn: asyncpg.Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.executemany(
            """INSERT INTO incidents (id, ts, lat, lon, type, category, priority, address, caller_hash, summary,
                                      station, source, extra, recv_ts)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'mqtt', $12::jsonb, $13)""",
            [(r["id"], r["ts"], r["lat"], r["lon"], r["type"], r["category"], r["priority"], r["address"],
              r["caller_hash"], r["summary"], r["station"], r["extra"], utc_from_ms(r["recv_ms"])) for r in rows])


async def _update(conn: asyncpg.Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.executemany(
            """UPDATE incidents SET ts = $2, lat = $3, lon = $4, type = $5, category = $6, priority = $7,
                      address = $8, caller_hash = $9, summary = $10, station = $11, updated_at = now()
               WHERE id = $1""",
            [(r["id"], r["ts"], r["lat"], r["lon"], r["type"], r["category"], r["priority"], r["address"],
              r["caller_hash"], r["summary"], r["station"]) for r in rows])


async def _audit(conn: asyncpg.Connection, audits: list[tuple]) -> None:
    if audits:
        await conn.executemany(
            "INSERT INTO audit_log (actor, action, incident, details) VALUES ($1, $2, $3, $4::jsonb)",
            [(rules.ACTOR, action, iid, json.dumps(details, ensure_ascii=False, default=str))
             for iid, action, details in audits])


async def _alert(conn: asyncpg.Connection, alerts: list[tuple]) -> None:
    if alerts:
        await conn.executemany(
            """INSERT INTO alerts (ts, kind, severity, subject, station, incident, detail)
               VALUES (clock_timestamp(), 'incident_changed', 2, $1, $2, $1, jsonb_build_object('changed', $3::text[]))
               ON CONFLICT (kind, subject, ts) DO NOTHING""",
            alerts)
