"""Hotspot figures on crafted point sets with hand-computed answers (no database): the study area,
in-area counts, hit rate and PAI by the standard definitions, and a far outlier that changes nothing."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import h3.api.basic_int as h3
import pytest

from qingzhi.analytics import figures
from qingzhi.analytics import study_area as sa
from qingzhi.analytics.hotspots import cell_area, hotspot_quality

CENTER = h3.latlng_to_cell(30.2741, 120.1551, 9)
DISK = h3.grid_disk(CENTER, 9)  # 271 res-9 cells: the study area of the hand-computed cases
FAR = (30.70, 120.1551)         # ~47 km north of the centre


@dataclass(frozen=True)
class Period:
    """A fake filter: which parts ('train', 'test') of the crafted incidents it covers."""

    parts: tuple[str, ...] = ("train", "test")

    def split(self) -> tuple[Period, Period]:
        """Training part, test part."""
        return Period(("train",)), Period(("test",))


class FakeSource:
    """figures.Source over a list of crafted incidents (id, lat, lon, part)."""

    def __init__(self, incidents: list[tuple[str, float, float, str]], jurisdictions: list[str] | None = None,
                 boundary: Any | None = None) -> None:
        self.incidents, self.jurisdictions, self.boundary = incidents, jurisdictions or [], boundary

    def _in(self, period: Period) -> list[tuple[str, float, float, str]]:
        return [i for i in self.incidents if i[3] in period.parts]

    def cell_counts(self, period: Period, res: int) -> dict[int, float]:
        return dict(Counter(h3.latlng_to_cell(la, lo, res) for _, la, lo, _ in self._in(period)))

    def points(self, period: Period, res: int, cells: list[int], limit: int | None = None) -> list[dict[str, Any]]:
        base = datetime(2026, 1, 1)
        rows = [{"id": i, "ts": base + timedelta(minutes=n), "lat": la, "lon": lo, "type": "x",
                 "cell": h3.latlng_to_cell(la, lo, res)} for n, (i, la, lo, _) in enumerate(self._in(period))]
        rows = [r for r in rows if r["cell"] in set(cells)]
        return sorted(rows, key=lambda r: r["ts"], reverse=True)[:limit]

    def area_inputs(self) -> tuple[list[str], Any | None, str | None]:
        return self.jurisdictions, self.boundary, "area.geojson" if self.boundary else None


def at(cell: int, n: int, part: str, tag: str) -> list[tuple[str, float, float, str]]:
    """`n` incidents at the centre of `cell`."""
    lat, lon = h3.cell_to_latlng(cell)
    return [(f"{tag}{k}", lat, lon, part) for k in range(n)]


def disk_geojson() -> dict[str, Any]:
    """The 271 cells of DISK as one GeoJSON polygon (the boundary file of the hand-computed cases)."""
    return h3.cells_to_geo(DISK)


def crafted() -> tuple[list, list[int]]:
    """Training: 50, 40, 30 incidents in cells A, B, C. Test: A 30, B 10, D 5, and 55 in other cells."""
    a, b, c, d = (h3.grid_ring(CENTER, 2)[i] for i in (0, 3, 6, 9))
    others = [x for x in h3.grid_ring(CENTER, 5)][:11]
    incidents = at(a, 50, "train", "ta") + at(b, 40, "train", "tb") + at(c, 30, "train", "tc")
    incidents += at(a, 30, "test", "sa") + at(b, 10, "test", "sb") + at(d, 5, "test", "sd")
    for k, cell in enumerate(others):
        incidents += at(cell, 5, "test", f"so{k}-")
    return incidents, [a, b, c, d]


def test_pai_and_hit_rate_hand_computed() -> None:
    """271 near-equal cells. At 1 % (2.71 cells' worth of area) A and B are flagged: n = 40 of N = 100."""
    incidents, (a, b, c, d) = crafted()
    source = FakeSource(incidents, boundary=disk_geojson())
    area = figures.study_area(source, Period())
    assert area.source == "boundary_file" and area.detail == "area.geojson"
    big_a = sum(cell_area(x) for x in DISK)
    assert area.km2 == pytest.approx(big_a, rel=1e-4)  # the polygon's area is its cells' area
    rows = {m.method: m.rows for m in figures.quality(source, area, Period(), (9,))}
    q1, q3, q5 = rows["counts"]
    # 1 %: A and B (a third cell would pass 2.71 cells of area) → hit rate 40/100, coverage (a_A + a_B) / A
    assert (q1.cells, q1.hits, q1.total, q1.hit_rate) == (2, 40.0, 100.0, 0.40)
    assert q1.coverage == pytest.approx((cell_area(a) + cell_area(b)) / area.km2)
    assert q1.pai == pytest.approx(0.40 / q1.coverage) and q1.pai == pytest.approx(0.40 * 271 / 2, rel=0.01)
    # 3 %: 8.13 cells' worth, but only A, B, C had training incidents: 40 hits in 3 cells → PAI 0.40 / (3/271)
    assert (q3.cells, q3.hits) == (3, 40.0) and q3.pai == pytest.approx(0.40 * 271 / 3, rel=0.01)
    assert (q5.cells, q5.hits) == (3, 40.0)
    # the PAI of each method is reported side by side; the KDE ranks A, B, C and their neighbours
    assert set(rows) == {"counts", "gi", "kde"} and all(len(r) == 3 for r in rows.values())
    assert rows["kde"][0].cells == 2 and rows["kde"][0].hits >= 30.0  # A, and a cell next to it or B


def test_far_outlier_changes_nothing() -> None:
    """One stray incident ~47 km away, in training and in test: the figures stay as they were."""
    incidents, _ = crafted()
    stray = [("far-train", *FAR, "train"), ("far-test", *FAR, "test")]
    for make in (lambda inc: FakeSource(inc, boundary=disk_geojson()), lambda inc: FakeSource(inc)):
        clean, dirty = make(incidents), make(incidents + stray)
        area_clean, area_dirty = figures.study_area(clean, Period()), figures.study_area(dirty, Period())
        assert area_dirty.km2 == pytest.approx(area_clean.km2)
        before = figures.quality(clean, area_clean, Period(), (9, 10))
        after = figures.quality(dirty, area_dirty, Period(), (9, 10))
        def figures_of(result: list[figures.MethodQuality]) -> list[tuple]:
            return [(m.method, m.res, r.cells, r.hits, r.total, r.hit_rate, pytest.approx(r.pai, rel=1e-9))
                    for m in result for r in m.rows]

        assert figures_of(after) == figures_of(before) and len(before) == 6
        outside = figures.in_area(dirty, area_dirty, Period(), 9)
        assert outside.outside == 2 and {p["id"] for p in outside.listed} == {"far-train", "far-test"}
        assert sum(outside.counts.values()) == len(incidents)


def test_concave_hull_leaves_out_outliers_and_says_so() -> None:
    incidents, _ = crafted()
    spread = [(f"s{k}", *h3.cell_to_latlng(c), "train") for k, c in enumerate(DISK)]  # one in every cell
    source = FakeSource(incidents + spread + [("far", *FAR, "test")])
    area = figures.study_area(source, Period())
    assert area.source == "concave_hull" and "1 in outlying cells left out" in area.detail
    # the hull of the disk's cell centres, grown by a res-10 cell: close to the disk's own area, far from 47 km
    disk = sum(cell_area(x) for x in DISK)
    assert 0.8 * disk < area.km2 < 1.15 * disk
    inside = figures.in_area(source, area, Period(), 9)
    assert inside.outside == 1 and inside.listed[0]["id"] == "far"


def test_study_area_follows_the_jurisdictions() -> None:
    """Two adjacent squares: their union (0.2° × 0.1° at 30° N) is the area; the boundary file is not used."""
    def square(lon0: float) -> str:
        ring = [[lon0, 30.2], [lon0 + 0.1, 30.2], [lon0 + 0.1, 30.3], [lon0, 30.3], [lon0, 30.2]]
        return json.dumps({"type": "Polygon", "coordinates": [ring]})

    inside, outside = ("in", 30.25, 120.15, "train"), ("out", 30.35, 120.15, "train")
    source = FakeSource([inside, outside], jurisdictions=[square(120.0), square(120.1)], boundary=disk_geojson())
    area = figures.study_area(source, Period())
    assert area.source == "jurisdictions" and area.detail == "2 station jurisdictions"
    # spherical lat-lon rectangle: R² Δλ (sin φ2 − sin φ1)
    expected = sa.R_KM**2 * math.radians(0.2) * (math.sin(math.radians(30.3)) - math.sin(math.radians(30.2)))
    assert area.km2 == pytest.approx(expected, rel=1e-3)
    got = figures.in_area(source, area, Period(), 9)
    assert got.counts == {h3.latlng_to_cell(30.25, 120.15, 9): 1} and got.outside == 1
    # other jurisdictions, other area
    moved = FakeSource([inside, outside], jurisdictions=[square(120.0), square(120.1), square(120.2)])
    assert figures.study_area(moved, Period()).km2 == pytest.approx(1.5 * expected, rel=1e-3)


def test_edge_cells_are_decided_by_each_incident() -> None:
    """A res-8 cell cut by the boundary: of two incidents in it, the one beyond the line is outside."""
    boundary = {"type": "Polygon", "coordinates": [[[120.0, 30.0], [120.2, 30.0], [120.2, 30.27], [120.0, 30.27],
                                                    [120.0, 30.0]]]}
    north, south = ("n", 30.2715, 120.15, "train"), ("s", 30.2685, 120.15, "train")
    assert h3.latlng_to_cell(30.2715, 120.15, 8) == h3.latlng_to_cell(30.2685, 120.15, 8)
    source = FakeSource([north, south], boundary=boundary)
    area = figures.study_area(source, Period())
    cell = h3.latlng_to_cell(30.27, 120.15, 8)
    assert cell in area.classify([cell])[2]  # on the edge
    got = figures.in_area(source, area, Period(), 8)
    assert got.counts == {cell: 1} and [p["id"] for p in got.listed] == ["n"]


def test_bad_boundaries_are_one_clear_error() -> None:
    for bad, words in (({"type": "Point", "coordinates": [120, 30]}, "no Polygon"),
                       ({"type": "Polygon", "coordinates": [[[12000, 30], [12001, 30], [12001, 31], [12000, 30]]]},
                        "[lon, lat]"),
                       ("[1, 2", "GeoJSON"), ([], "not a GeoJSON object"),
                       ("[" * 100_000 + "]" * 100_000, "not GeoJSON")):  # too deep for json: once a RecursionError
        with pytest.raises(sa.AreaError, match=words.replace("[", r"\[")):
            sa.polygons(bad)


def test_quality_takes_cells_while_their_real_area_fits() -> None:
    """Cells of very different sizes (res 9 and a big res-7 one): the count is by area, not by cells."""
    small = list(DISK)[:3]
    big = h3.cell_to_parent(CENTER, 7)
    ranking = [big, *small]
    area = 100 * cell_area(big)
    rows = hotspot_quality(ranking, {big: 5.0, small[0]: 5.0}, area, shares=(0.01, 0.0105))
    assert rows[0].cells == 1 and rows[0].coverage == pytest.approx(0.01)  # the big cell alone is 1 %
    # 1.05 % leaves 0.05 × the big cell ≈ 2.4 res-9 cells (a res-7 cell is ~49 res-9 ones): two fit, not three
    assert rows[1].cells == 3 and rows[1].hits == 10.0
