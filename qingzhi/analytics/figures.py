"""The hotspot figures against the study area: in-area counts, Gi*, and each method's hit rate and PAI.

Shared by the analysis page (dashboard.analysis.updates) and `qingzhi analysis hotspots`. The
data come through a `Source` (dashboard.analysis.queries.Source reads the pre-aggregates), so
this module holds the method and no SQL. `period` is the page's filter object: what the source's
queries take, with `.split()` into a training and a test part.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import h3.api.basic_int as h3

from qingzhi.analytics import study_area as sa
from qingzhi.analytics.hotspots import GiStar, Quality, gi_star, hotspot_quality, kde_scores, ranked, top_cells

LISTED = 100  # incidents outside the study area listed (all are counted)
METHODS = ("counts", "gi", "kde")


class Source(Protocol):
    """Where the figures' data come from."""

    def cell_counts(self, period: Any, res: int) -> dict[int, float]:
        """Incidents per cell at `res` in the period."""

    def points(self, period: Any, res: int, cells: list[int], limit: int | None = None) -> list[dict[str, Any]]:
        """The incidents in these cells: id, ts, lat, lon, type and `cell` (at `res`), newest first."""

    def area_inputs(self) -> tuple[list[str], Any | None, str | None]:
        """(the stations' jurisdictions as GeoJSON texts, the user's boundary GeoJSON or None, its name)."""


@dataclass(frozen=True)
class InArea:
    """A period's incidents per cell at one resolution, inside the study area, and those outside."""

    counts: dict[int, float]
    outside: int
    listed: list[dict[str, Any]] = field(default_factory=list)  # up to LISTED of the outside ones, newest first
    outside_cells: tuple[int, ...] = ()  # the cells wholly outside the area


def study_area(source: Source, period: Any) -> sa.StudyArea:
    """The study area for this period (the hull, if it comes to that, is drawn around the period's incidents)."""
    jurisdictions, boundary, name = source.area_inputs()
    counts10 = source.cell_counts(period, 10) if not jurisdictions and boundary is None else None
    return sa.choose(jurisdictions, boundary, name, counts10)


def in_area(source: Source, area: sa.StudyArea, period: Any, res: int, *, listing: bool = True) -> InArea:
    """Per-cell counts of the incidents in the area; the others counted and (some) listed.

    Cells wholly inside count whole, cells wholly outside not at all; in the cells the boundary
    may cross, each incident's own coordinates decide. Without `listing` the incidents of the
    cells wholly outside are not read (the counts need only the edge cells' points), so `listed`
    holds only the stray ones of the edge cells: for callers that show no list, or that fetch
    it themselves (`outside_listed`) beside other work.
    """
    counts = source.cell_counts(period, res)
    _, outside, edge = area.classify(counts)
    edge_points = source.points(period, res, sorted(edge)) if edge else []
    inside = area.covers([p["lat"] for p in edge_points], [p["lon"] for p in edge_points])
    stray = [p for p, ok in zip(edge_points, inside, strict=True) if not ok]
    out = Counter(p["cell"] for p in stray)
    for cell in outside:
        out[cell] = counts[cell]
    kept = {c: n - out.get(c, 0.0) for c, n in counts.items() if n - out.get(c, 0.0) > 0}
    found = InArea(kept, int(sum(out.values())), stray, tuple(sorted(outside)))
    return replace(found, listed=outside_listed(source, period, res, found)) if listing else found


def outside_listed(source: Source, period: Any, res: int, found: InArea) -> list[dict[str, Any]]:
    """The latest LISTED incidents outside the area: the edge cells' stray ones and those of the cells
    wholly outside, newest first."""
    cells = list(found.outside_cells)
    listed = [*found.listed, *(source.points(period, res, cells, LISTED) if cells else [])]
    listed.sort(key=lambda p: p["ts"], reverse=True)
    return listed[:LISTED]


def area_cell_count(area: sa.StudyArea, res: int, counts: dict[int, float]) -> int:
    """Cells in the study area for Gi*: those whose centre lies in it, and those holding its incidents."""
    cells = area.cells(res)
    return len(cells) + sum(1 for c in counts if c not in cells)


def gi(area: sa.StudyArea, counts: dict[int, float], res: int, *, with_neighbours: bool = False) -> GiStar:
    """Gi* of the in-area counts; with `with_neighbours`, empty cells of the area next to them get a z too."""
    listed = dict(counts)
    if with_neighbours:
        cells = area.cells(res)
        for cell in counts:
            for n in h3.grid_ring(cell, 1):
                if n not in listed and n in cells:
                    listed[n] = 0.0
    return gi_star(listed, area_cell_count(area, res, counts))


@dataclass(frozen=True)
class MethodQuality:
    """One method's hotspots of the training part against the test part."""

    method: str      # counts (cells by their count), gi (by Gi* z), kde (by kernel density)
    res: int
    rows: list[Quality]


def quality(source: Source, area: sa.StudyArea, period: Any, resolutions: tuple[int, ...]) -> list[MethodQuality]:
    """Hit rate and PAI at 1/3/5 % of the study area for each method, side by side, at each resolution.

    Hotspots are chosen on the first half of the period and scored on the incidents of the
    second half, both inside the study area only. The KDE is drawn from the training incidents'
    res-10 cells and read at the centres of the training cells and the area's cells around them.
    """
    train_period, test_period = period.split()
    memo: dict[tuple[str, int], dict[int, float]] = {}

    def counts(part: str, res: int) -> dict[int, float]:
        if (part, res) not in memo:
            memo[part, res] = in_area(source, area, train_period if part == "train" else test_period, res,
                                     listing=False).counts
        return memo[part, res]

    out = []
    for res in resolutions:
        train, test = counts("train", res), counts("test", res)
        if not train or not test:  # nothing to choose from, or nothing to score
            continue
        z = gi(area, train, res, with_neighbours=True).z
        rankings = {"counts": [c for c, _ in top_cells(train, len(train))], "gi": ranked(z),
                    "kde": ranked(kde_scores(counts("train", 10), z))}
        out += [MethodQuality(m, res, hotspot_quality(rankings[m], test, area.km2)) for m in METHODS]
    return out


@dataclass(frozen=True)
class Report:
    """Everything `qingzhi analysis hotspots` prints."""

    res: int
    area: sa.StudyArea
    inside: InArea
    gi: GiStar
    top: list[tuple[int, float]]
    quality: list[MethodQuality]


def report(source: Source, period: Any, res: int, top_n: int) -> Report:
    """Ranked cells (count, Gi* z), the study area, the incidents outside it and each method's quality."""
    area = study_area(source, period)
    inside = in_area(source, area, period, res)
    return Report(res, area, inside, gi(area, inside.counts, res), top_cells(inside.counts, top_n),
                  quality(source, area, period, (res,)))
