"""The analysis page's updates as plain functions: query the pre-aggregates, run the analysis.

Each takes the app's `Database` (or anything with `.run(async_fn, *args)`), so the page's
callbacks and the benchmark time exactly the same work. Each first folds in newly arrived
incidents (`ensure_fresh`), so the page is never behind the database.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h3.api.basic_int as h3
from h3 import H3BaseException
import numpy as np

from dashboard.analysis import view
from dashboard.analysis import queries as q
from qingzhi.analytics import figures
from qingzhi.analytics.hotspots import Quality, top_cells
from qingzhi.analytics.ranking import Ranked, pareto

TOP_N = 10
SUMMARY_CANDIDATES = 40  # top cells searched for distinct (non-adjacent) areas
SUMMARY_RES = 9  # the summary names areas of about 0.1 km² (H3 resolution 9), whatever the map zoom


@dataclass(frozen=True)
class Hotspots:
    """Everything the hotspot panel shows."""

    res: int
    hexes: dict[str, Any]
    significant: dict[str, Any]
    kde: tuple[str, list[list[float]]] | None
    top: list[dict[str, Any]]
    cells: int
    total: float
    previous_total: float
    area: dict[str, Any]  # the study area in use: source, detail, km2 (figures.StudyArea.summary)
    outside: int          # incidents of the period outside it, left out of the counts above
    outside_listed: list[dict[str, Any]]  # the latest of them (figures.LISTED): id, ts, lat, lon, type


def hotspots(db: Any, tz: str, f: q.Filters, compare: str, res: int, *, kde: bool = True,
             top_n: int = TOP_N, study_area: Path | None = None) -> Hotspots:
    """Counts per cell in the study area, Gi* hot spots, KDE heat and the top-N table for this period.

    `study_area` is the setting of that name (a boundary file used when no station has a jurisdiction).
    """
    db.run(q.ensure_fresh, tz)
    source = q.Source(db, study_area)
    area = figures.study_area(source, f)
    inside = figures.in_area(source, area, f, res)
    counts = inside.counts
    gi = figures.gi(area, counts, res)
    top = top_cells(counts, top_n)
    before = f.shifted(compare)  # the comparison is needed only for the top cells and the total
    previous = db.run(q.counts_in_cells, before, res, [c for c, _ in top]) if top else {}
    prof = view.profiles(db.run(q.cell_profiles, f, res, [c for c, _ in top])) if top else {}
    heat = view.kde_overlay(counts if res == 10 else figures.in_area(source, area, f, 10).counts) \
        if kde and counts else None
    return Hotspots(res, view.hex_geojson(counts, gi), view.significant_geojson(gi, counts), heat,
                    view.top_rows(counts, previous, gi, prof, top_n), len(counts), float(sum(counts.values())),
                    db.run(q.total, before), area.summary(), inside.outside, inside.listed)


def peak_hours(db: Any, tz: str, f: q.Filters, focus: str | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """The 168 hour-of-week counts (aoristic) and the peak facts, for everything or a focus.

    `focus` is None, 'type:<type>' or 'cell:<res>:<cell>' (a hotspot chosen on the map or table).
    """
    db.run(q.ensure_fresh, tz)
    if focus and focus.startswith("cell:"):
        _, res, cell = focus.split(":")
        prof = view.profiles(db.run(q.cell_profiles, f, int(res), [int(cell)]))
        how = prof.get(int(cell), (Counter(), np.zeros(168), Counter()))[1]
    else:
        if focus and focus.startswith("type:"):
            f = q.Filters(f.start, f.end, f.stations, (focus[5:],), (), f.priorities)
        how = db.run(q.hour_of_week, f)
    return how, view.peak_facts(how)


def frequent_types(db: Any, tz: str, f: q.Filters, compare: str) -> tuple[list[Ranked], list[Ranked]]:
    """Pareto rows by type and by category, each with change vs the comparison period."""
    db.run(q.ensure_fresh, tz)
    now = db.run(q.type_counts, f)
    before = db.run(q.type_counts, f.shifted(compare))

    def by(index: int, counts: dict[tuple[str, str], float]) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, n in counts.items():
            out[key[index]] = out.get(key[index], 0.0) + n
        return out

    return pareto(by(0, now), by(0, before)), pareto(by(1, now), by(1, before))


def summary_inputs(db: Any, tz: str, f: q.Filters, compare: str, study_area: Path | None = None) -> dict[str, Any]:
    """What the three-highs summary needs: totals, top areas (resolution 9), peak facts, types."""
    spots = hotspots(db, tz, f, compare, SUMMARY_RES, kde=False, top_n=SUMMARY_CANDIDATES, study_area=study_area)
    areas = distinct_areas(spots.top)
    _, peak = peak_hours(db, tz, f)
    types, _ = frequent_types(db, tz, f, compare)
    return {"total": spots.total, "previous": spots.previous_total, "top": areas, "peak": peak, "ranked": types}


def distinct_areas(top: list[dict[str, Any]], apart: int = 2) -> list[dict[str, Any]]:
    """Top rows without the cells next to a busier one already listed (one hotspot, one line)."""
    chosen: list[dict[str, Any]] = []
    for row in top:
        cell = int(row["cell"])
        if all(_distance(cell, int(c["cell"])) > apart for c in chosen):
            chosen.append({**row, "rank": len(chosen) + 1})
    return chosen


def _distance(a: int, b: int) -> int:
    try:
        return h3.grid_distance(a, b)
    except H3BaseException:  # too far apart (or across a pentagon) to count cells between them
        return 1 << 30


def quality(db: Any, tz: str, f: q.Filters, resolutions: tuple[int, ...] = (8, 9, 10),
            study_area: Path | None = None) -> list[tuple[str, int, Quality]]:
    """Hotspots of the first half of the period predicting the second half: (method, resolution, quality).

    Methods (qingzhi.analytics.figures): cells ranked by their own count, by Gi* z and by kernel
    density, at each resolution, so analysts can choose what works for their city; hit rate and
    PAI against the study area.
    """
    db.run(q.ensure_fresh, tz)
    source = q.Source(db, study_area)
    area = figures.study_area(source, f)
    return [(m.method, m.res, row) for m in figures.quality(source, area, f, resolutions) for row in m.rows]
