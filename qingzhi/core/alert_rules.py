"""The alert rules: what raises which alert, and when.

Raised by the ingest as a device's message arrives (ingest/store.py, on the transition):
  sos           the officer pressed the emergency button               severity 1
  unit_offline  a unit reported `offline` (or its last will came)      severity 2
  batt_low      a terminal's battery fell below 15 %                   severity 3
  cam_recording a body camera started recording or streaming           severity 3
  cam_fault     a body camera reported `fault`                         severity 2
  cam_batt_low  a body camera's battery fell below 20 %                severity 3
Raised by the duty loop (qingzhi/duties.py) on time passing, whether or not a page is open:
  ack_timeout   a command to an assigned unit unacknowledged past `ack_timeout_s`   severity 2
  overdue       an incident not assigned / not on scene within its priority's time  severity 1 (P1), 2
  unit_lost     an on-duty unit without a fix for `lost_after_s` (within a day)     severity 2
  followup_overdue   a follow-up task's step past its deadline (followups.py)     severity 3
  followup_escalated a task whose calls did not stop after reopening (followups.py) severity 2
  zone_short    a zone below its minimum for the response plan's grace period       severity 2

Every alert's time is fixed by the data (command time, receipt + threshold, last fix + limit),
so raising it again is a no-op on the key (kind, subject, ts): the rules are idempotent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from qingzhi.core.dispatch_config import DispatchConfig
from qingzhi.core.vocab import OFF

OVERDUE_STATES = ("received", "assigned", "en_route")  # waiting for a unit, or for it to arrive
OVERDUE_STAGES = (("assign", "assigned_at", "assign_s"), ("on_scene", "on_scene_at", "on_scene_s"))


def overdue_stage(row: dict[str, Any], cfg: DispatchConfig, now: dt.datetime) -> str | None:
    """'assign' or 'on_scene' if the incident has waited past its priority's threshold for that step."""
    th = cfg.overdue.get(row["priority"])
    if th is None or row["state"] not in OVERDUE_STATES:
        return None
    waited = (now - row["ts"]).total_seconds()
    if row["assigned_at"] is None and waited > th.assign_s:
        return "assign"
    if row["on_scene_at"] is None and waited > th.on_scene_s:
        return "on_scene"
    return None


async def ack_timeouts(conn: asyncpg.Connection, cfg: DispatchConfig) -> int:
    """One ack_timeout alert per active assignment's or patrol/recall command is unacknowledged past the timeout."""
    return await conn.fetchval(
        """WITH ins AS (
             INSERT INTO alerts (ts, kind, severity, subject, unit, station, incident, detail)
             SELECT c.ts, 'ack_timeout', 2, c.id::text, c.unit, c.station, c.incident,
                    jsonb_build_object('command', c.id, 'timeout_s', $1::int)
             FROM commands c LEFT JOIN assignments a ON a.command = c.id AND a.released_at IS NULL
             WHERE (a.command IS NOT NULL OR c.kind IN ('patrol', 'recall'))  -- acknowledged like a dispatch
               AND c.ack_recv_ts IS NULL AND c.ts < now() - make_interval(secs => $1::int)
               AND NOT EXISTS (SELECT 1 FROM acks k WHERE k.command = c.id::text)
             ON CONFLICT (kind, subject, ts) DO NOTHING RETURNING 1)
           SELECT count(*) FROM ins""",
        cfg.ack_timeout_s,
    )


async def overdue(conn: asyncpg.Connection, cfg: DispatchConfig) -> int:
    """One overdue alert per incident and stage (assign, on scene) past its priority's threshold."""
    prios = sorted(cfg.overdue)
    made = 0
    for stage, col, field in OVERDUE_STAGES:
        made += await conn.fetchval(
            f"""WITH th(priority, secs) AS (SELECT * FROM unnest($1::int[], $2::int[])),
                ins AS (
                  INSERT INTO alerts (ts, kind, severity, subject, station, incident, detail)
                  SELECT i.ts + make_interval(secs => th.secs), 'overdue', CASE WHEN i.priority = 1 THEN 1 ELSE 2 END,
                         i.id, i.station, i.id, jsonb_build_object('stage', $3::text, 'priority', i.priority)
                  FROM incidents i JOIN th ON th.priority = i.priority
                  WHERE i.state = ANY($4::text[]) AND i.{col} IS NULL
                    AND i.ts + make_interval(secs => th.secs) < now()
                  ON CONFLICT (kind, subject, ts) DO NOTHING RETURNING 1)
                SELECT count(*) FROM ins""",
            prios, [getattr(cfg.overdue[p], field) for p in prios], stage, list(OVERDUE_STATES),
        )
    return made


async def lost_units(conn: asyncpg.Connection, lost_after_s: int) -> int:
    """One unit_lost alert per loss of an on-duty unit (its ts is the last fix + the limit)."""
    status = await conn.execute(
        """INSERT INTO alerts (ts, kind, severity, subject, unit, station, detail)
           SELECT u.fix_ts + make_interval(secs => $1), 'unit_lost', 2, u.id, u.id, u.station,
                  jsonb_build_object('last_fix', u.fix_ts, 'lat', u.lat, 'lon', u.lon)
           FROM units u
           WHERE u.fix_ts < now() - make_interval(secs => $1)
             AND u.fix_ts > now() - interval '1 day'
             AND (u.status IS NULL OR u.status <> ALL($2::text[]))
           ON CONFLICT (kind, subject, ts) DO NOTHING""",
        float(lost_after_s), list(OFF))
    return int(status.split()[-1])


async def zones_short(conn: asyncpg.Connection, counts: list[tuple[str, str, int, int]], grace_min: int) -> int:
    """Track since when each zone is below its minimum ((zone, station, need, have) for every zone) and
    raise one zone_short alert per spell once it has lasted `grace_min` minutes (its ts: start + grace)."""
    short = [c for c in counts if c[3] < c[2]]
    await conn.execute("DELETE FROM zone_shortage WHERE NOT (zone = ANY($1::text[]))", [c[0] for c in short])
    await conn.executemany(
        """INSERT INTO zone_shortage (zone, short_since, need, have) VALUES ($1, now(), $2, $3)
           ON CONFLICT (zone) DO UPDATE SET need = EXCLUDED.need, have = EXCLUDED.have""",
        [(z, need, have) for z, _, need, have in short])
    return await conn.fetchval(
        """WITH ins AS (
             INSERT INTO alerts (ts, kind, severity, subject, station, zone, detail)
             SELECT s.short_since + make_interval(mins => $1), 'zone_short', 2, s.zone, z.station, s.zone,
                    jsonb_build_object('need', s.need, 'have', s.have, 'since', s.short_since)
             FROM zone_shortage s JOIN zones z ON z.id = s.zone
             WHERE s.short_since + make_interval(mins => $1) <= now()
             ON CONFLICT (kind, subject, ts) DO NOTHING RETURNING 1)
           SELECT count(*) FROM ins""", grace_min)
