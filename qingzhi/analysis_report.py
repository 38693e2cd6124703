"""`qingzhi analysis hotspots`: the hotspot figures from the command line, for scripting and review.

The same figures as the analysis page (qingzhi.analytics.figures over the pre-aggregates, through
the page's own queries): ranked cells with their count and Gi* z, the study area in use with its
km², the incidents outside it, and the hit rate and PAI at 1/3/5 % of the area for cells ranked by
count, by Gi* and by kernel density.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
import h3.api.basic_int as h3

from dashboard.analysis import queries as q
from dashboard.db import Database
from qingzhi.analytics import figures
from qingzhi.config import Settings
from qingzhi.core.times import check_year
from qingzhi.db import Limits
from qingzhi.errors import QingzhiError

COMMAND_S = 600.0  # a first refresh after a big import may take a while


def hotspots(settings: Settings, *, start: str | None, end: str | None, types: tuple[str, ...], res: int, top: int,
             as_json: bool) -> None:
    """Print the hotspot report for the period (default: every day with data) and types (default: all)."""
    given = _day(start, "--from", settings.timezone), _day(end, "--to", settings.timezone)  # bad input first
    db = Database(settings.database_url, max_size=2, limits=Limits(command_s=COMMAND_S))
    try:
        db.run(q.ensure_fresh, settings.timezone)
        known = db.run(q.options)
        if known["last"] is None:
            click.echo(json.dumps({"incidents": 0}) if as_json else "no incidents in the database")
            return
        first, last = given[0] or known["first"], given[1] or known["last"]
        seen = [t for t, _ in known["types"]]
        unknown = sorted(set(types) - set(seen))
        if unknown:  # else a typo reads as "no incidents of that type"
            raise QingzhiError(f"--type {', '.join(unknown)}: no incident has that type (types: "
                               f"{', '.join(seen[:20])}{' …' if len(seen) > 20 else ''})")
        if last < first:
            raise QingzhiError(f"--to {last} is before --from {first}")
        period = q.Filters(first, last, types=types)
        found = figures.report(q.Source(db, settings.study_area), period, res, top)
    finally:
        db.close()
    out = as_dict(found, period)
    click.echo(json.dumps(out, ensure_ascii=False, indent=1) if as_json else as_text(out))


def _day(text: str | None, flag: str, timezone: str) -> date | None:
    """A local day from an ISO date or date-time (an aware one converted to the local zone)."""
    if not text:
        return None
    try:
        return check_year(date.fromisoformat(text), flag)
    except ValueError:
        pass
    try:
        moment = check_year(datetime.fromisoformat(text), flag)
    except ValueError:
        raise QingzhiError(f"{flag} {text!r}: not an ISO date or date-time (2026-03-01 or 2026-03-01T08:00)") from None
    return (moment.astimezone(ZoneInfo(timezone)) if moment.tzinfo else moment).date()


def as_dict(found: figures.Report, period: q.Filters) -> dict[str, Any]:
    """The report as plain JSON-able data (cells as H3 strings)."""
    train, test = period.split()
    return {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "types": list(period.types), "resolution": found.res,
        "study_area": found.area.summary(),
        "incidents": sum(found.inside.counts.values()),
        "outside": {"count": found.inside.outside,
                    "listed": [{"id": p["id"], "time": p["ts"].isoformat(), "lat": p["lat"], "lon": p["lon"],
                                "type": p["type"]} for p in found.inside.listed]},
        "cells": [{"rank": i + 1, "h3": h3.int_to_str(cell), "count": n, "gi_z": round(found.gi.z.get(cell, 0.0), 3)}
                  for i, (cell, n) in enumerate(found.top)],
        "quality": {
            "train": {"from": train.start.isoformat(), "to": train.end.isoformat()},
            "test": {"from": test.start.isoformat(), "to": test.end.isoformat()},
            "methods": [{"method": m.method, "resolution": m.res,
                         "rows": [{"share": r.share, "cells": r.cells, "area_km2": round(r.area_km2, 4),
                                   "coverage": round(r.coverage, 5), "hits": r.hits, "total": r.total,
                                   "hit_rate": round(r.hit_rate, 4), "pai": round(r.pai, 3)} for r in m.rows]}
                        for m in found.quality]},
    }


METHOD_NAMES = {"counts": "cell counts", "gi": "Gi* z", "kde": "kernel density"}


def as_text(out: dict[str, Any]) -> str:
    """The report for people."""
    area, outside, quality = out["study_area"], out["outside"], out["quality"]
    lines = [
        f"Hotspots {out['period']['from']} – {out['period']['to']}, H3 resolution {out['resolution']}, "
        f"{', '.join(out['types']) or 'all types'}",
        f"Study area: {area['source']} ({area['detail']}), {area['km2']:,.2f} km²; "
        f"{out['incidents']:,.0f} incidents inside, {outside['count']:,} outside",
        "", f"{'rank':>4}  {'H3 cell':16} {'incidents':>9} {'Gi* z':>7}"]
    lines += [f"{c['rank']:>4}  {c['h3']:16} {c['count']:>9,.0f} {c['gi_z']:>7.2f}" for c in out["cells"]]
    lines += ["", f"Hotspot quality: chosen on {quality['train']['from']} – {quality['train']['to']}, "
                  f"scored on {quality['test']['from']} – {quality['test']['to']}",
              f"{'method':16} {'area':>5} {'cells':>6} {'km²':>8} {'hits':>7} {'of':>7} {'hit rate':>9} {'PAI':>7}"]
    for m in quality["methods"]:
        for r in m["rows"]:
            lines.append(f"{METHOD_NAMES[m['method']]:16} {100 * r['share']:>4.0f}% {r['cells']:>6} "
                         f"{r['area_km2']:>8.3f} {r['hits']:>7.0f} {r['total']:>7.0f} {100 * r['hit_rate']:>8.1f}% "
                         f"{r['pai']:>7.2f}")
    if not quality["methods"]:
        lines.append("(nothing to score: no incidents in the training or the test part of the period)")
    if outside["count"]:
        lines += ["", f"Outside the study area ({outside['count']:,}; newest {len(outside['listed'])} listed):"]
        lines += [f"  {p['id']}  {p['time']}  {p['lat']:.5f},{p['lon']:.5f}  {p['type']}" for p in outside["listed"]]
    return "\n".join(lines)
