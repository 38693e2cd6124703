"""Alert levels (等级勤务): set for the district, a station or a zone, with a reason, who and an
optional expiry; the most specific level in force is each zone's (zones.alert_level, which the
live map, the wall and the plan read).

Levels are numbered as the bureau says them: 1 = 一级 (I, red, highest) … 4 = 四级 (IV, blue,
normal); 0 in zones.alert_level means no level is set (normal duty). Every change is audited and
raises a `zone_level` alert, so the alert feed and the wall show it. Expiry is a duty-loop chore
(`expire`), never a page's.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg

from qingzhi.core import audit
from qingzhi.core.access import require, scope as actor_scope
from qingzhi.core.actor import Actor
from qingzhi.core.response_plan import LEVEL_NAMES
from qingzhi.core.texts import free_text
from qingzhi.errors import QingzhiError

SCOPES = ("district", "station", "zone")
MAX_REASON = 500
MAX_HOURS = 24 * 30                      # an expiry further away than this is a typo
# the most specific level in force wins: a zone's own, else its station's, else the district's
_RECOMPUTE = """
WITH eff AS (
  SELECT z.id, COALESCE(zl.level, sl.level, dl.level, 0)::smallint AS level
  FROM zones z
  LEFT JOIN alert_levels zl ON zl.scope = 'zone' AND zl.target = z.id
  LEFT JOIN alert_levels sl ON sl.scope = 'station' AND sl.target = z.station
  LEFT JOIN alert_levels dl ON dl.scope = 'district')
UPDATE zones z SET alert_level = eff.level, updated_at = now() FROM eff
WHERE z.id = eff.id AND z.alert_level <> eff.level
RETURNING z.id, z.station, z.alert_level"""


def parse_level(text: str | int) -> int:
    """'I'…'IV' (or 1–4, or 一级…四级) → 1–4; anything else is a clear error."""
    s = str(text).strip().upper()
    names = {**{n: i + 1 for i, n in enumerate(LEVEL_NAMES)}, **{str(i): i for i in (1, 2, 3, 4)},
             "一级": 1, "二级": 2, "三级": 3, "四级": 4}
    if s not in names:
        raise QingzhiError(f"unknown level {str(text)[:20]!r}: use I, II, III or IV")
    return names[s]


def level_name(level: int) -> str:
    """1–4 → 'I'…'IV'; 0 → 'IV' (normal duty)."""
    return LEVEL_NAMES[(level or 4) - 1]


def _reason(text: str | None) -> str:
    reason = free_text(text, "reason", MAX_REASON)
    if not reason:
        raise QingzhiError("a level needs a reason")
    return reason


def _until(until: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
    if until is None:
        return None
    if until.tzinfo is None:
        raise QingzhiError("the expiry needs a time zone (e.g. 2026-12-01T18:00+08:00)")
    if until <= now:
        raise QingzhiError("the expiry is in the past")
    if until - now > dt.timedelta(hours=MAX_HOURS):
        raise QingzhiError(f"the expiry is more than {MAX_HOURS // 24} days away")
    return until


async def _station_of(conn: asyncpg.Connection, scope: str, target: str) -> str | None:
    """The station a target belongs to (None for the district); unknown targets are an error."""
    if scope == "district":
        return None
    if scope == "station":
        found = await conn.fetchval("SELECT id FROM stations WHERE id = $1", target)
    elif scope == "zone":
        found = await conn.fetchval("SELECT station FROM zones WHERE id = $1", target)
    else:
        raise QingzhiError(f"unknown scope {scope!r}: use district, station or zone")
    if found is None:
        raise QingzhiError(f"no {scope} {target[:64]!r}")
    return found


async def recompute(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Write each zone's level in force; the zones whose level changed."""
    return [dict(r) for r in await conn.fetch(_RECOMPUTE)]


async def _announce(conn: asyncpg.Connection, actor: Actor, scope: str, target: str, station: str | None,
                    level: int, previous: int | None, reason: str) -> None:
    """A `zone_level` alert for the feed and the wall (severity 1 for level I)."""
    await conn.execute(
        """INSERT INTO alerts (ts, kind, severity, subject, station, zone, detail)
           VALUES (clock_timestamp(), 'zone_level', $1, $2, $3, $4, $5::jsonb) ON CONFLICT DO NOTHING""",
        1 if level == 1 else 2 if level == 2 else 3, f"{scope}:{target}" if target else scope, station,
        target if scope == "zone" else None,
        json.dumps({"to": level, "from": previous, "scope": scope, "target": target,
                                  "reason": reason, "by": actor.label}, ensure_ascii=False),
    )


async def set_level(actor: Actor, conn: asyncpg.Connection, *, scope: str, target: str | None, level: int | str,
                    reason: str, until: dt.datetime | None = None) -> dict[str, Any]:
    """Set the level of the district, a station or a zone (audited, announced). A commander acts only
    within their stations; the district's level needs a district-wide account."""
    target = "" if scope == "district" else (target or "").strip()
    n = parse_level(level)
    why = _reason(reason)
    now = dt.datetime.now(dt.UTC)
    expires = _until(until, now)
    async with conn.transaction():
        station = await _station_of(conn, scope, target)
        require(actor, "duty.act", station)
        previous = await conn.fetchval("SELECT level FROM alert_levels WHERE scope = $1 AND target = $2",
                                       scope, target)
        await conn.execute(
            """INSERT INTO alert_levels (scope, target, level, reason, set_by, set_at, until, context)
               VALUES ($1, $2, $3, $4, $5, now(), $6, $7)
               ON CONFLICT (scope, target) DO UPDATE SET level = EXCLUDED.level, reason = EXCLUDED.reason,
                   set_by = EXCLUDED.set_by, set_at = now(), until = EXCLUDED.until, context = EXCLUDED.context""",
            scope, target, n, why, actor.label, expires, actor.context)
        changed = await recompute(conn)
        await audit.record(conn, actor, "level.set", details={
            "scope": scope, "target": target, "level": level_name(n), "from": level_name(previous) if previous else None,
            "reason": why, "until": expires, "zones_changed": len(changed)})
        await _announce(conn, actor, scope, target, station, n, previous, why)
    return {"scope": scope, "target": target, "level": level_name(n), "until": expires,
            "zones_changed": [c["id"] for c in changed]}


async def clear_level(actor: Actor, conn: asyncpg.Connection, *, scope: str, target: str | None,
                      reason: str) -> bool:
    """Remove a level (the next wider one applies again); False if none was set."""
    target = "" if scope == "district" else (target or "").strip()
    why = _reason(reason)
    async with conn.transaction():
        station = await _station_of(conn, scope, target)
        require(actor, "duty.act", station)
        previous = await conn.fetchval("DELETE FROM alert_levels WHERE scope = $1 AND target = $2 RETURNING level",
                                       scope, target)
        if previous is None:
            return False
        changed = await recompute(conn)
        await audit.record(conn, actor, "level.clear", details={
            "scope": scope, "target": target, "from": level_name(previous), "reason": why,
            "zones_changed": len(changed)})
        await _announce(conn, actor, scope, target, station, 0, previous, why)
    return True


async def expire(conn: asyncpg.Connection) -> int:
    """Duty loop: remove the levels whose expiry has passed, as the system, audited; how many."""
    actor = Actor.system("level_expiry")
    async with conn.transaction():
        rows = await conn.fetch(
            "DELETE FROM alert_levels WHERE until <= now() RETURNING scope, target, level, reason")
        if not rows:
            return 0
        changed = await recompute(conn)
        for r in rows:
            station = await conn.fetchval(
                "SELECT CASE $1::text WHEN 'station' THEN $2 WHEN 'zone' THEN (SELECT station FROM zones WHERE id = $2)"
                " END", r["scope"], r["target"])
            await audit.record(conn, actor, "level.expire", details={
                "scope": r["scope"], "target": r["target"], "from": level_name(r["level"]),
                "reason": r["reason"], "zones_changed": len(changed)})
            await _announce(conn, actor, r["scope"], r["target"], station, 0, r["level"], "expired")
    return len(rows)


async def list_levels(actor: Actor, conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """The levels in force that the actor may see (the district's is seen by all)."""
    require(actor, "duty.view")
    stations = actor_scope(actor)
    rows = await conn.fetch(
        """SELECT l.scope, l.target, l.level, l.reason, l.set_by, l.set_at, l.until,
                  CASE l.scope WHEN 'station' THEN l.target WHEN 'zone' THEN z.station END AS station
           FROM alert_levels l LEFT JOIN zones z ON l.scope = 'zone' AND z.id = l.target
           ORDER BY array_position(ARRAY['district', 'station', 'zone'], l.scope), l.target""")
    return [{**dict(r), "level": level_name(r["level"])} for r in rows
            if stations is None or r["station"] is None or r["station"] in stations]
