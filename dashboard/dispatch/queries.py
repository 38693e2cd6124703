"""Dispatch reads: the incident queue, one incident's detail, incidents by id, the fleet's rows.

The actions (assign, release, lifecycle steps, incidents entered by hand) are in qingzhi.core;
the alert rules the queue marks (overdue, ack timeout) are qingzhi.core.alert_rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from qingzhi.core.alert_rules import overdue_stage
from qingzhi.core.dispatch_config import DispatchConfig
from qingzhi.core.lifecycle import OPEN


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
WHERE i.state = ANY($1::text[]) AND ($2::text[] IS NULL OR i.station = ANY($2::text[]))
ORDER BY i.state IN ('handled', 'feedback'), i.priority, i.ts
LIMIT $3
"""


async def queue(
    conn: asyncpg.Connection, cfg: DispatchConfig, *, now: dt.datetime, stations: list[str] | None = None, limit: int = 300
) -> list[dict[str, Any]]:
    """Open incidents, the ones needing action first by priority and age, each with its wait,
    overdue stage, active units and whether each unit acknowledged (or timed out)."""
    rows = await conn.fetch(_QUEUE_SQL, list(OPEN), stations, limit)
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
    row = await conn.fetchrow("""SELECT i.*, s.name_zh AS station_zh, s.name_en AS station_en
                                 FROM incidents i LEFT JOIN stations s ON s.id = i.station WHERE i.id = $1""", incident)
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


# --- units for the recommender ----------------------------------------------------------------


async def unit_rows(conn: asyncpg.Connection, since_version: int = 0) -> list[asyncpg.Record]:
    """Units with a position changed after `since_version` (all of them for 0), for the fleet cache."""
    return await conn.fetch(
        """SELECT id, station, kind, status, lat, lon, extract(epoch FROM fix_ts)::float8 AS fix_epoch, cam_state, version
           FROM units WHERE version > $1 AND lat IS NOT NULL ORDER BY version""",
        since_version,
    )


async def unit_choices(conn: asyncpg.Connection, stations: list[str] | None = None) -> list[dict[str, str]]:
    """The units (of these stations; None: all) as id and station, in order, for a device picker."""
    rows = await conn.fetch("SELECT id, station FROM units WHERE $1::text[] IS NULL OR station = ANY($1) ORDER BY id",
                            stations)
    return [dict(r) for r in rows]


async def station_ids(conn: asyncpg.Connection, stations: list[str] | None = None) -> list[str]:
    """The stations' ids (of these; None: all), in order."""
    rows = await conn.fetch("SELECT id FROM stations WHERE $1::text[] IS NULL OR id = ANY($1) ORDER BY id", stations)
    return [r["id"] for r in rows]
