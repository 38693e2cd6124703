"""The analysis page's updates as plain functions: query the pre-aggregates, run the analysis.

Each takes the app's `Database` (or anything with `.run(async_fn, *args)`), so the page's
callbacks and the benchmark time exactly the same work. Each first folds in newly arrived
incidents (`ensure_fresh`), so the page is never behind the database.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h3.api.basic_int as h3
from h3 import H3BaseException
import numpy as np

from dashboard.analysis import cache, view
from dashboard.analysis import queries as q
from qingzhi.analytics import figures
from qingzhi.analytics.hotspots import GiStar, Quality, top_cells
from qingzhi.analytics.ranking import Ranked, pareto

TOP_N = 10
SUMMARY_CANDIDATES = 40  # top cells searched for distinct (non-adjacent) areas
SUMMARY_RES = 9  # the summary names areas of about 0.1 km² (H3 resolution 9), whatever the map zoom
SUMMARY_AREAS = 5  # areas the summary's table shows (its text names the first three)
SIDE_BY_SIDE = 6  # reads of one update run at once, each db.run on its own pooled connection


def _side_by_side() -> ThreadPoolExecutor:
    """Threads for one update's side-by-side reads, ended with it: a long-lived pool whose threads die (a
    test harness ends the threads a server started) would leave later updates waiting for ever."""
    return ThreadPoolExecutor(max_workers=SIDE_BY_SIDE, thread_name_prefix="qz-analysis")


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
    previous_total: float | None  # None: no records cover the comparison period
    area: dict[str, Any]  # the study area in use: source, detail, km2 (figures.StudyArea.summary)
    outside: int          # incidents of the period outside it, left out of the counts above
    outside_listed: list[dict[str, Any]]  # the latest of them (figures.LISTED): id, ts, lat, lon, type


def hotspots(db: Any, tz: str, f: q.Filters, compare: str, res: int, *, kde: bool = True,
             top_n: int = TOP_N, study_area: Path | None = None) -> Hotspots:
    """Counts per cell in the study area, Gi* hot spots, KDE heat and the top-N table for this period.

    `study_area` is the setting of that name (a boundary file used when no station has a jurisdiction).
    Queries that do not wait for each other's answers run side by side, each on its own connection;
    the answer is kept for the same question on the same data (dashboard.analysis.cache).
    """
    db.run(q.ensure_fresh, tz)
    return cache.cached(db, ("hotspots", f, compare, res, kde, top_n), study_area,
                        lambda: _hotspots(db, f, compare, res, kde=kde, top_n=top_n, study_area=study_area))


def _hotspots(db: Any, f: q.Filters, compare: str, res: int, *, kde: bool, top_n: int,
              study_area: Path | None) -> Hotspots:
    source = q.Source(db, study_area)
    before = _comparison(db, f, compare)  # needed only for the top cells and the total
    with _side_by_side() as pool:
        previous_total = pool.submit(db.run, q.total, before) if before else None
        area = figures.study_area(source, f)
        inside = figures.in_area(source, area, f, res, listing=False)
        counts = inside.counts
        listed = pool.submit(figures.outside_listed, source, f, res, inside)
        heat = pool.submit(lambda: view.kde_overlay(
            counts if res == 10 else figures.in_area(source, area, f, 10, listing=False).counts)) if kde and counts \
            else None
        gi = figures.gi(area, counts, res)
        shown = top_cells(counts, top_n)
        return Hotspots(res, view.hex_geojson(counts, gi), view.significant_geojson(gi, counts), heat and heat.result(),
                        _top_rows(pool, db, f, before, res, shown, gi), len(counts), float(sum(counts.values())),
                        previous_total and previous_total.result(), area.summary(), inside.outside, listed.result())


def _comparison(db: Any, f: q.Filters, compare: str) -> q.Filters | None:
    """The comparison period, or None when the records begin after it starts: a period before the first
    record is no data, and counted as zero it made everything "new" (a young system, the demo)."""
    before = f.shifted(compare)
    first = db.run(q.first_day)
    return before if first is not None and first <= before.start else None


def _top_rows(pool: ThreadPoolExecutor, db: Any, f: q.Filters, before: q.Filters | None, res: int,
              shown: list[tuple[int, float]], gi: GiStar) -> list[dict[str, Any]]:
    """The table rows of these cells: their counts before (if any records cover it), and their profiles,
    read side by side."""
    if not shown:
        return []
    cells = [c for c, _ in shown]
    previous = pool.submit(db.run, q.counts_in_cells, before, res, cells) if before else None
    prof = view.profiles(db.run(q.cell_profiles, f, res, cells))
    return view.top_rows(shown, previous and previous.result(), gi, prof)


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
    period = _comparison(db, f, compare)
    before = db.run(q.type_counts, period) if period else None

    def by(index: int, counts: dict[tuple[str, str], float] | None) -> dict[str, float] | None:
        if counts is None:
            return None
        out: dict[str, float] = {}
        for key, n in counts.items():
            out[key[index]] = out.get(key[index], 0.0) + n
        return out

    return pareto(by(0, now), by(0, before)), pareto(by(1, now), by(1, before))


def summary_inputs(db: Any, tz: str, f: q.Filters, compare: str, study_area: Path | None = None) -> dict[str, Any]:
    """What the three-highs summary needs: totals, top areas (resolution 9), peak facts, types.

    The areas are the SUMMARY_AREAS busiest distinct cells among the SUMMARY_CANDIDATES busiest; only
    those are profiled. The peak hours and the types are read beside the cells; the answer is kept
    like the hotspots'.
    """
    db.run(q.ensure_fresh, tz)
    return cache.cached(db, ("summary", f, compare), study_area, lambda: _summary(db, tz, f, compare, study_area))


def _summary(db: Any, tz: str, f: q.Filters, compare: str, study_area: Path | None) -> dict[str, Any]:
    source = q.Source(db, study_area)
    before = _comparison(db, f, compare)
    with _side_by_side() as pool:
        previous_total = pool.submit(db.run, q.total, before) if before else None
        peak = pool.submit(peak_hours, db, tz, f)
        types = pool.submit(frequent_types, db, tz, f, compare)
        area = figures.study_area(source, f)
        counts = figures.in_area(source, area, f, SUMMARY_RES, listing=False).counts
        chosen = distinct_cells(top_cells(counts, SUMMARY_CANDIDATES))[:SUMMARY_AREAS]
        areas = _top_rows(pool, db, f, before, SUMMARY_RES, chosen, figures.gi(area, counts, SUMMARY_RES))
        return {"total": float(sum(counts.values())), "previous": previous_total and previous_total.result(),
                "top": areas, "peak": peak.result()[1], "ranked": types.result()[0]}


def distinct_cells(ranked: list[tuple[int, float]], apart: int = 2) -> list[tuple[int, float]]:
    """Ranked cells without those next to a busier one already listed (one hotspot, one line)."""
    chosen: list[tuple[int, float]] = []
    for cell, n in ranked:
        if all(_distance(cell, c) > apart for c, _ in chosen):
            chosen.append((cell, n))
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
    PAI against the study area. Kept like the hotspots: asked again on the same data, it is not recomputed.
    """
    db.run(q.ensure_fresh, tz)
    source = q.Source(db, study_area)
    return cache.cached(db, ("quality", f, resolutions), study_area, lambda: [
        (m.method, m.res, row) for m in figures.quality(source, figures.study_area(source, f), f, resolutions)
        for row in m.rows])
