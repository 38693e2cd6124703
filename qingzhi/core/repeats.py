"""Repeat-call flags (警源治理): one number calling again and again (一人多次), one place with
incident after incident (一地多起), one type surging in an area (一类多发).

A fixed count flags every busy place and every talkative number (on the demo district the old
rule badged every call in the queue), so each flag compares a subject's recent count with what is
usual for it: the larger of its own rate over a baseline period before the window and the
district's usual count per subject in the window. It fires when the count reaches the minimum,
`ratio` times that usual, and a Poisson tail below `alpha` (thresholds in DispatchConfig). Each
flag says why in words, in Chinese and English. A flag's key is stable (`caller:<hash>`,
`place:<h3 cell>`, `surge:<station>:<type>`) so a task made from it can be found again; its
`subject` is what the effect check of that task counts (qingzhi.core.followups).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import asyncpg
import h3
from scipy.stats import poisson

from qingzhi.core import history
from qingzhi.core.dispatch_config import DispatchConfig, RepeatCaller, RepeatPlace
from qingzhi.core.stations import local_name, station_rows
from qingzhi.core.type_names import type_name

WEEK = dt.timedelta(days=7)
COUNTED = "state <> 'merged'"  # a merged call is a duplicate of another: counted once, there


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def cell_size_m(res: int) -> int:
    """The width of an H3 cell of this resolution, in metres, as the reasons say it (~150 m at 10)."""
    return int(round(2 * h3.average_hexagon_edge_length(res, "m"), -1))


def usual_of(own_before: int, covered_days: float, window_days: float, district: float) -> tuple[float, bool]:
    """What a subject's count in a window would usually be: its own rate over the covered baseline
    period (when that covers at least half a window) or the district's usual, whichever is larger;
    and whether it is the district's (a mean over subjects seen at least once in the window)."""
    own = own_before * window_days / covered_days if covered_days >= window_days / 2 else 0.0
    return max(own, district), district >= own


def improbable(n: int, usual: float, alpha: float) -> bool:
    """Whether n or more is improbable (Poisson tail below `alpha`) when `usual` is the expected count:
    a count that rose by chance is no reason to act (flags, suggested levels)."""
    return float(poisson.sf(n - 1, max(usual, 0.1))) < alpha


def exceeds(n: int, usual: float, minimum: int, ratio: float, alpha: float, *, seen: bool = False) -> bool:
    """The rule every flag shares: at least `minimum`, `ratio` × usual, and improbable under usual.
    With `seen` the usual is a mean over subjects that occurred at least once (the district's usual
    per calling number or occupied cell, nearly 1), so the test is on the occurrences after the first."""
    k = 1 if seen else 0
    return n >= minimum and n >= ratio * usual and improbable(n - k, usual - k, alpha)


async def _caller_flags(conn: asyncpg.Connection, rule: RepeatCaller, now: dt.datetime,
                        start: dt.datetime | None) -> list[dict[str, Any]]:
    w0 = now - dt.timedelta(days=rule.days)
    rows = await conn.fetch(
        f"""SELECT caller_hash, count(*) AS n, array_agg(id ORDER BY ts DESC) AS ids, max(ts) AS last,
                   mode() WITHIN GROUP (ORDER BY station) AS station,
                   (array_agg(lat ORDER BY ts DESC))[1] AS lat, (array_agg(lon ORDER BY ts DESC))[1] AS lon
            FROM incidents WHERE caller_hash IS NOT NULL AND ts > $1 AND ts <= $2 AND {COUNTED}
            GROUP BY caller_hash""",
        w0, now,
    )
    if not rows:
        return []
    district = sum(r["n"] for r in rows) / len(rows)  # calls per calling number: most call once
    candidates = [r for r in rows if r["n"] >= rule.calls]
    covered = history.covered_days(start, w0, rule.baseline_days)
    before = dict(await conn.fetch(
        f"""SELECT caller_hash, count(*) FROM incidents
            WHERE caller_hash = ANY($1::text[]) AND ts > $2 AND ts <= $3 AND {COUNTED} GROUP BY caller_hash""",
        [r["caller_hash"] for r in candidates], w0 - dt.timedelta(days=covered), w0,
    )) if candidates and covered else {}
    flags = []
    for r in candidates:
        usual, seen = usual_of(before.get(r["caller_hash"], 0), covered, rule.days, district)
        if not exceeds(r["n"], usual, rule.calls, rule.ratio, rule.alpha, seen=seen):
            continue
        reason = {"en": f"{_ordinal(r['n'])} call from this number in {rule.days} days (usual {usual:.1f})",
                  "zh": f"该号码 {rule.days} 天内第 {r['n']} 次报警（通常 {usual:.1f} 次）"}
        flags.append({"kind": "caller", "key": f"caller:{r['caller_hash'][:16]}", "subject": r["caller_hash"],
                      "label": r["caller_hash"][:8], "station": r["station"], "incidents": list(r["ids"]),
                      "count": r["n"], "days": rule.days, "usual": round(usual, 2), "last": r["last"],
                      "lat": r["lat"], "lon": r["lon"], "reason": reason})
    return flags


async def _place_flags(conn: asyncpg.Connection, rule: RepeatPlace, now: dt.datetime,
                       start: dt.datetime | None) -> list[dict[str, Any]]:
    w0 = now - dt.timedelta(days=rule.days)
    covered = history.covered_days(start, w0, rule.baseline_days)
    rows = await conn.fetch(
        f"""SELECT id, lat, lon, station, ts, address FROM incidents
            WHERE ts > $1 AND ts <= $2 AND {COUNTED} ORDER BY ts DESC""",
        w0 - dt.timedelta(days=covered), now,
    )
    recent: dict[str, list[asyncpg.Record]] = defaultdict(list)
    before: Counter[str] = Counter()
    for r in rows:
        cell = h3.latlng_to_cell(r["lat"], r["lon"], rule.h3_res)
        if r["ts"] > w0:
            recent[cell].append(r)
        else:
            before[cell] += 1
    if not recent:
        return []
    district = sum(len(m) for m in recent.values()) / len(recent)  # incidents per occupied cell
    size = cell_size_m(rule.h3_res)
    flags = []
    for cell, members in recent.items():
        n = len(members)
        usual, seen = usual_of(before[cell], covered, rule.days, district)
        if not exceeds(n, usual, rule.incidents, rule.ratio, rule.alpha, seen=seen):
            continue
        lat, lon = h3.cell_to_latlng(cell)
        addresses = Counter(m["address"] for m in members if m["address"])
        label = addresses.most_common(1)[0][0] if addresses else cell  # where people say it is
        stations = Counter(m["station"] for m in members)
        reason = {"en": f"{n} incidents within {size} m in {rule.days} days, {n / usual:.0f}× the usual ({usual:.1f})",
                  "zh": f"{rule.days} 天内约 {size} 米范围内 {n} 起，为通常（{usual:.1f} 起）的 {n / usual:.0f} 倍"}
        flags.append({"kind": "place", "key": f"place:{cell}", "subject": cell, "label": label,
                      "station": stations.most_common(1)[0][0], "incidents": [m["id"] for m in members], "count": n,
                      "days": rule.days, "usual": round(usual, 2), "last": members[0]["ts"], "lat": lat, "lon": lon,
                      "reason": reason})
    return flags


async def _surge_flags(conn: asyncpg.Connection, cfg: DispatchConfig, now: dt.datetime,
                       start: dt.datetime | None) -> list[dict[str, Any]]:
    rule = cfg.surge
    weeks = history.covered_weeks(start, now - WEEK, rule.baseline_weeks)  # weeks with no data: every type "surged"
    if weeks < rule.min_weeks:
        return []
    rows = await conn.fetch(
        f"""SELECT coalesce(station, '-') AS area, type,
                  floor(extract(epoch FROM ($1 - ts)) / 604800)::int AS week, count(*) AS n,
                  array_agg(id ORDER BY ts DESC) AS ids, max(ts) AS last
           FROM incidents WHERE ts > $2 AND ts <= $1 AND {COUNTED}
           GROUP BY 1, 2, 3""",
        now, now - WEEK * (weeks + 1),
    )
    current: dict[tuple[str, str], asyncpg.Record] = {}
    before: dict[tuple[str, str], int] = defaultdict(int)
    area_history: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["week"] == 0:
            current[(r["area"], r["type"])] = r
        elif r["week"] <= weeks:
            before[(r["area"], r["type"])] += r["n"]
            area_history[r["area"]] += r["n"]
    names = {r["id"]: (local_name(r, "zh"), local_name(r, "en")) for r in await station_rows(conn)}
    flags = []
    for (area, typ), r in current.items():
        if not area_history[area]:
            continue  # no earlier record of this area at all (a new station): nothing to compare with
        baseline = before[(area, typ)] / weeks
        usual = max(baseline, 0.5)  # a type never seen here still needs min_count to be a surge
        if not exceeds(r["n"], usual, rule.min_count, rule.ratio, rule.alpha):
            continue
        zh, en = names.get(area, (area, area)) if area != "-" else ("全区", "")
        reason = {"en": f"{r['n']} {type_name(typ, 'en')} in 7 days{' at ' + en if en else ''}, "
                        f"{r['n'] / usual:.1f}× the weekly mean of {baseline:.1f} over {weeks} weeks",
                  "zh": f"{zh} 7 天内 {type_name(typ, 'zh')} {r['n']} 起，为前 {weeks} 周周均（{baseline:.1f} 起）的 "
                        f"{r['n'] / usual:.1f} 倍"}
        flags.append({"kind": "surge", "key": f"surge:{area}:{typ}", "subject": f"{area}|{typ}", "label": typ,
                      "station": None if area == "-" else area, "incidents": list(r["ids"]), "count": r["n"],
                      "baseline": round(baseline, 2), "usual": round(usual, 2), "days": 7, "last": r["last"],
                      "reason": reason})
    return flags


async def repeat_flags(conn: asyncpg.Connection, cfg: DispatchConfig, *, now: dt.datetime) -> list[dict[str, Any]]:
    """Every current flag, each with its reason, the incidents behind it and its live follow-up task (if any)."""
    start = await history.start(conn)
    flags = (await _caller_flags(conn, cfg.repeat_caller, now, start) + await _place_flags(conn, cfg.repeat_place, now, start)
             + await _surge_flags(conn, cfg, now, start))
    tasks = {
        r["flag_key"]: dict(r)
        for r in await conn.fetch("SELECT id, flag_key, state, officer FROM followups WHERE state <> 'closed'")
    }
    for f in flags:
        f["task"] = tasks.get(f["key"])
    return sorted(flags, key=lambda f: (-f["count"], f["key"]))


async def cell_incidents(conn: asyncpg.Connection, cell: str, since: dt.datetime,
                         until: dt.datetime) -> list[dict[str, Any]]:
    """The counted incidents in an H3 cell within [since, until), newest first (the cell's bounding box
    on the indexed columns, then the exact cell)."""
    res = h3.get_resolution(cell)
    lats, lons = zip(*h3.cell_to_boundary(cell))
    rows = await conn.fetch(
        f"""SELECT id, ts, type, state, lat, lon FROM incidents WHERE lat BETWEEN $1 AND $2 AND lon BETWEEN $3 AND $4
            AND ts >= $5 AND ts < $6 AND {COUNTED} ORDER BY ts DESC""",
        min(lats), max(lats), min(lons), max(lons), since, until)
    return [{k: r[k] for k in ("id", "ts", "type", "state")} for r in rows
            if h3.latlng_to_cell(r["lat"], r["lon"], res) == cell]


def flagged_share(flags: list[dict[str, Any]], incidents: int) -> float:
    """The share of `incidents` that some flag names (what the queue would badge)."""
    return len({i for f in flags for i in f["incidents"]}) / incidents if incidents else 0.0
