"""One briefing for one actor: every figure of a period, against the period before and the same
period a year earlier, narrowed to the stations the actor may see (the server decides)."""

from __future__ import annotations

from typing import Any

import asyncpg

from qingzhi.core import governance, presence
from qingzhi.core.access import require, scope
from qingzhi.core.actor import Actor
from qingzhi.core.briefing import cameras, counts, service, tasks
from qingzhi.core.briefing.compare import compare, decline_rate, ratio
from qingzhi.core.briefing.config import HEADLINES, BriefingConfig
from qingzhi.core.briefing.period import Period
from qingzhi.core.briefing.ranking import rank
from qingzhi.core.dispatch_config import load_config as load_dispatch_config
from qingzhi.errors import QingzhiError

PER = 10_000  # 可防性案件发案率: cases per this many residents


def stations_in_scope(actor: Actor, station: str | None) -> list[str] | None:
    """The stations a briefing covers: the one asked for (if the actor may see it), else the
    actor's own stations, else None (every station). Raises Unauthorized otherwise."""
    if station:
        require(actor, "briefing.view", station)
        return [station]
    require(actor, "briefing.view")
    return scope(actor)


async def station_names(conn: asyncpg.Connection, stations: list[str] | None) -> list[dict[str, str]]:
    """id, name_zh, name_en, lat, lon of the stations covered."""
    rows = await conn.fetch(
        """SELECT id, name_zh, name_en, lat, lon FROM stations
           WHERE $1::text[] IS NULL OR id = ANY($1::text[]) ORDER BY id""",
        stations)
    return [dict(r) for r in rows]


def _population(cfg: BriefingConfig, stations: list[str]) -> int | None:
    """Residents of these stations, only where every one of them has a configured population."""
    if not stations or any(s not in cfg.population for s in stations):
        return None
    return sum(cfg.population[s] for s in stations)


async def build_briefing(
    actor: Actor, conn: asyncpg.Connection, period: Period, cfg: BriefingConfig, *, station: str | None = None,
) -> dict[str, Any]:
    """Every figure of the briefing as plain data (see the module doc of qingzhi.core.briefing)."""
    stations = stations_in_scope(actor, station)
    named = await station_names(conn, stations)
    if station and not named:
        raise QingzhiError(f"no station {station[:64]!r}")
    prev, yoy = period.previous(), period.last_year()
    spans = {"cur": period, "prev": prev, "yoy": yoy}
    heads = {k: await counts.headline_counts(conn, cfg, p.since, p.until, stations) for k, p in spans.items()}
    checks = {k: await counts.check_counts(conn, p.since, p.until, stations) for k, p in spans.items()}
    dispatch_cfg = await load_dispatch_config(conn)
    repeats = {k: await governance.repeat_share(conn, p.since, p.until, stations=stations)
               for k, p in (("cur", period), ("yoy", yoy))}
    duty = {k: await presence.period_figures(conn, p.first, p.last, stations)
            for k, p in (("cur", period), ("prev", prev))}
    diverted = {k: await governance.diverted_counts(conn, p.since, p.until, stations=stations)
                for k, p in spans.items()}
    ids = [s["id"] for s in named]
    total = heads["cur"]["*"]
    population = _population(cfg, ids)
    loop = await service.closed_loop(conn, period.since, period.until, stations)
    camera = await cameras.camera_compliance(conn, period.since, period.until, stations)
    resp = await service.response(conn, period.since, period.until, stations)
    share = {k: v["share"] for k, v in repeats.items()}
    return {
        "period": period, "previous": prev, "last_year": yoy, "station": station, "stations": named,
        "everywhere": stations is None,
        "headlines": [{"key": h, "value": total[h], "prev": compare(total[h], heads["prev"]["*"][h]),
                       "yoy": compare(total[h], heads["yoy"]["*"][h])} for h in HEADLINES],
        "rates": {
            "decline_prev": decline_rate(total["calls"], heads["prev"]["*"]["calls"]),
            "decline_yoy": decline_rate(total["calls"], heads["yoy"]["*"]["calls"]),
            "preventable": total["preventable"], "population": population,
            "preventable_per_10k": None if population is None else total["preventable"] * PER / population,
            "checks": checks["cur"]["*"]["checks"], "hits": checks["cur"]["*"]["hits"],
            "check_hit": ratio(checks["cur"]["*"]["hits"], checks["cur"]["*"]["checks"]),
            "check_hit_yoy": ratio(checks["yoy"]["*"]["hits"], checks["yoy"]["*"]["checks"]),
            "duty_rate": duty["cur"]["fulfilment_rate"], "duty_rate_prev": duty["prev"]["fulfilment_rate"],
            "visible_rate": duty["cur"]["presence_rate"], "visible_rate_prev": duty["prev"]["presence_rate"],
            "duty": duty["cur"],
        },
        "response": resp,
        "overdue": await service.overdue(conn, dispatch_cfg, period.since, period.until, stations),
        "closed_loop": loop,
        "repeats": {**repeats["cur"], "share": share["cur"], "share_yoy": share["yoy"],
                    "yoy": compare(share["cur"], share["yoy"])},
        "growing": await counts.growing_places(conn, period.since, period.until, prev.since, stations),
        "points": await counts.incident_points(conn, period.since, period.until, stations),
        "busiest": await counts.busiest(conn, period.since, period.until, stations, period.tz),
        "diverted": {**diverted["cur"], "prev": compare(diverted["cur"]["total"], diverted["prev"]["total"]),
                     "yoy": compare(diverted["cur"]["total"], diverted["yoy"]["total"])},
        "governance": await governance.task_figures(conn, period.since, period.until, stations=stations),
        "cameras": camera,
        "camera_faults": await cameras.camera_faults(conn, period.since, period.until, stations),
        "ranking": rank(await _station_figures(conn, cfg, period, ids, heads, checks, camera, resp), cfg.weights),
        "tasks": await tasks.tasks_for(conn, period.since, period.until, stations, period.label),
    }


async def _station_figures(
    conn: asyncpg.Connection, cfg: BriefingConfig, period: Period, ids: list[str], heads: dict[str, Any],
    checks: dict[str, Any], camera: dict[str, Any], resp: dict[str, Any],
) -> dict[str, dict[str, float | None]]:
    """station → the figures the ranking weighs (None where a station has no data for one)."""
    loops = await service.closed_loop_by_station(conn, period.since, period.until, ids)
    p50 = {r["grp"]: r["received_on_scene_p50"] for r in resp["station"]}
    per_10k = all(s in cfg.population for s in ids)  # else raw counts: rates and counts do not mix
    out = {}
    for s in ids:
        cur, prev = heads["cur"].get(s, {}), heads["prev"].get(s, {})
        prevented = cur.get("preventable", 0)
        loop = loops.get(s, {})
        out[s] = {
            "decline": decline_rate(cur.get("calls", 0), prev.get("calls", 0)),
            "preventable_rate": prevented * PER / cfg.population[s] if per_10k else float(prevented),
            "check_hit": ratio(checks["cur"].get(s, {}).get("hits"), checks["cur"].get(s, {}).get("checks")),
            "on_scene_p50": p50.get(s),
            "closure": ratio(loop.get("closed"), loop.get("incidents")),
            "satisfaction": loop.get("mean"),
            "camera": camera.get(s, {}).get("share"),
        }
    return out
