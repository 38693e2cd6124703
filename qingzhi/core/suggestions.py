"""Suggested levels: the duty loop compares each station's and zone's incidents in the last hours with
its own baseline and suggests one level up or down; a commander accepts (the level is set, with the
suggestion's reason) or dismisses it, both audited.

Baseline: the same weekday and clock hours in each of the previous `baseline_weeks` weeks (those that
history covers: a week before the first record is no data, not a quiet week; with fewer than
`min_weeks` there is no suggestion), and its *median* week, so that one holiday or one exceptional
night does not move it. The suggestion says why in words, naming the category that rose most, e.g.
"+62 % incidents since 18:00 (theft 9 vs 3) against the 8-week median (13 vs 8)".
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np
import shapely
from shapely.geometry import shape

from qingzhi.core import audit, history, levels
from qingzhi.core.access import require, scope as actor_scope
from qingzhi.core.repeats import improbable
from qingzhi.core.actor import Actor
from qingzhi.core.response_plan import ResponsePlan
from qingzhi.core.type_names import category_name
from qingzhi.errors import QingzhiError


RAISE_STEP = 3.0   # each level above IV needs three times the excess of the one below (+50 %, +150 %, +450 %)


def judge(recent: int, weeks: list[int], current: int, rule: Any) -> tuple[int, float, float] | None:
    """(suggested level, excess, median) when the recent count against the median week crosses the
    threshold of the next level up (raise_excess × 3^steps above IV) and is improbable by chance (a
    Poisson tail below `alpha`), or falls below `lower_excess` while raised; None otherwise. Levels:
    1 highest … 4 normal; a raise needs at least `min_count`."""
    median = float(np.median(weeks)) if weeks else 0.0
    usual = max(median, 1.0)  # an empty median week still expects about one
    excess = (recent - median) / usual
    threshold = rule.raise_excess * RAISE_STEP ** (4 - current)
    if recent >= rule.min_count and excess >= threshold and current > 1 and improbable(recent, usual, rule.alpha):
        return current - 1, excess, median
    if excess <= rule.lower_excess and current < 4:
        return current + 1, excess, median
    return None


def explain(recent: int, median: float, excess: float, top: tuple[str, int, float] | None, since: str,
            weeks: int) -> str:
    """The reason in words, Chinese then English."""
    pct = f"{excess * 100:+.0f} %"
    cat_zh = f"，{category_name(top[0], 'zh')} {top[1]} 起（基线 {top[2]:g}）" if top else ""
    cat_en = f" ({category_name(top[0], 'en')} {top[1]} vs {top[2]:g})" if top else ""
    return (f"{since} 以来警情 {pct}{cat_zh}，对比前 {weeks} 周同期中位数（{recent} 对 {median:g}） / "
            f"{pct} incidents since {since}{cat_en} against the {weeks}-week median ({recent} vs {median:g})")


def _windows(now: dt.datetime, hours: int, weeks: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """The recent window, then the same window 1…weeks weeks before."""
    return [(now - dt.timedelta(hours=hours, weeks=w), now - dt.timedelta(weeks=w)) for w in range(weeks + 1)]


async def _incidents(conn: asyncpg.Connection, wins: list[tuple[dt.datetime, dt.datetime]]) -> list[asyncpg.Record]:
    starts, ends = [w[0] for w in wins], [w[1] for w in wins]
    return await conn.fetch(
        """SELECT w.k, i.station, i.category, i.lat, i.lon
           FROM unnest($1::timestamptz[], $2::timestamptz[]) WITH ORDINALITY AS w(s, e, k)
           JOIN incidents i ON i.ts >= w.s AND i.ts < w.e
           WHERE i.state NOT IN ('cancelled', 'merged')""", starts, ends)


def _top_category(recent: Counter, weeks: list[Counter]) -> tuple[str, int, float] | None:
    best = None
    for cat, n in recent.items():
        base = float(np.median([w.get(cat, 0) for w in weeks])) if weeks else 0.0
        if best is None or n - base > best[1] - best[2]:
            best = (cat, n, base)
    return best if best and best[1] > best[2] else None


async def refresh(conn: asyncpg.Connection, response: ResponsePlan, timezone: str,
                  now: dt.datetime | None = None) -> int:
    """Duty loop: (re)write the open suggestions; withdraw those no longer warranted. How many are open."""
    rule = response.suggest
    now = now or dt.datetime.now(dt.UTC)
    weeks = history.covered_weeks(await history.start(conn), now - dt.timedelta(hours=rule.hours),
                                  rule.baseline_weeks)
    if weeks < rule.min_weeks:
        return await _keep_only(conn, [])
    wins = _windows(now, rule.hours, weeks)
    rows = await _incidents(conn, wins)
    zones = await conn.fetch("SELECT id, station, boundary, alert_level FROM zones ORDER BY id")
    station_level = {r["id"]: r["level"] for r in await conn.fetch(
        """SELECT s.id, COALESCE(sl.level, dl.level, 4) AS level FROM stations s
           LEFT JOIN alert_levels sl ON sl.scope = 'station' AND sl.target = s.id
           LEFT JOIN alert_levels dl ON dl.scope = 'district'""")}
    # counts[(scope, target)][k] = Counter of categories in window k (1 = recent)
    counts: dict[tuple[str, str], list[Counter]] = {}
    lats = np.array([r["lat"] for r in rows], float)
    lons = np.array([r["lon"] for r in rows], float)
    where = np.full(len(rows), -1)
    for zi, z in enumerate(zones):
        geo = z["boundary"] if isinstance(z["boundary"], dict) else json.loads(z["boundary"])
        inside = shapely.contains_xy(shape(geo), lons, lats) & (where < 0) if len(rows) else np.empty(0, bool)
        where[inside] = zi
    for r, zi in zip(rows, where):
        keys = [("station", r["station"])] if r["station"] else []
        if zi >= 0:
            keys.append(("zone", zones[zi]["id"]))
        for key in keys:
            counts.setdefault(key, [Counter() for _ in wins])[r["k"] - 1][r["category"]] += 1
    targets = [("station", s, s, lvl) for s, lvl in station_level.items()]
    targets += [("zone", z["id"], z["station"], z["alert_level"] or 4) for z in zones]
    since = wins[0][0].astimezone(ZoneInfo(timezone)).strftime("%H:%M")
    keep = []
    for scope_name, target, station, current in targets:
        per = counts.get((scope_name, target), [Counter() for _ in wins])
        recent, before = sum(per[0].values()), [sum(c.values()) for c in per[1:]]
        verdict = judge(recent, before, current, rule)
        if verdict is None:
            continue
        dismissed = await conn.fetchval(
            """SELECT 1 FROM level_suggestions WHERE scope = $1 AND target = $2 AND decided = 'dismissed'
               AND suggested = $3 AND decided_at > $4::timestamptz - make_interval(hours => $5)""",
            scope_name, target, verdict[0], now, rule.hours)
        if dismissed:
            continue
        suggested, excess, median = verdict
        why = explain(recent, median, excess, _top_category(per[0], per[1:]), since, weeks)
        detail = {"recent": recent, "weeks": before, "median": median, "excess": round(excess, 3)}
        await conn.execute(
            """INSERT INTO level_suggestions (ts, scope, target, station, current, suggested, why, detail)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
               ON CONFLICT (scope, target) WHERE decided IS NULL DO UPDATE SET ts = EXCLUDED.ts,
                   current = EXCLUDED.current, suggested = EXCLUDED.suggested, why = EXCLUDED.why,
                   detail = EXCLUDED.detail""",
            now, scope_name, target, station, current, suggested, why, json.dumps(detail))
        keep.append(f"{scope_name}:{target}")
    return await _keep_only(conn, keep)


async def _keep_only(conn: asyncpg.Connection, keep: list[str]) -> int:
    """Withdraw the open suggestions not in `keep` (`scope:target`); how many stay open."""
    await conn.execute("DELETE FROM level_suggestions WHERE decided IS NULL AND NOT (scope || ':' || target = ANY($1))",
                       keep)
    return len(keep)


async def open_suggestions(actor: Actor, conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """The undecided suggestions in the actor's stations, newest first."""
    require(actor, "duty.view")
    rows = await conn.fetch(
        """SELECT id, ts, scope, target, station, current, suggested, why FROM level_suggestions
           WHERE decided IS NULL AND ($1::text[] IS NULL OR station = ANY($1::text[])) ORDER BY ts DESC, id""",
        actor_scope(actor))
    return [{**dict(r), "current": levels.level_name(r["current"]), "suggested": levels.level_name(r["suggested"])}
            for r in rows]


async def decide(actor: Actor, conn: asyncpg.Connection, suggestion: int, accept: bool) -> dict[str, Any]:
    """Accept (set the suggested level with the suggestion's reason) or dismiss an open suggestion; audited."""
    async with conn.transaction():
        row = await conn.fetchrow("SELECT * FROM level_suggestions WHERE id = $1 FOR UPDATE", suggestion)
        if row is None:
            raise QingzhiError(f"no suggestion {suggestion}")
        require(actor, "duty.act", row["station"])
        if row["decided"] is not None:
            raise QingzhiError(f"suggestion {suggestion} was already {row['decided']} by {row['decided_by']}")
        await conn.execute(
            "UPDATE level_suggestions SET decided = $2, decided_by = $3, decided_at = now() WHERE id = $1",
            suggestion, "accepted" if accept else "dismissed", actor.label)
        await audit.record(conn, actor, "level.suggestion." + ("accept" if accept else "dismiss"), details={
            "suggestion": suggestion, "scope": row["scope"], "target": row["target"],
            "suggested": levels.level_name(row["suggested"]), "why": row["why"]})
        if accept:
            return await levels.set_level(actor, conn, scope=row["scope"], target=row["target"],
                                          level=row["suggested"], reason=row["why"][:levels.MAX_REASON])
    return {"dismissed": suggestion}
