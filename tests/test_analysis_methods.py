"""Known answers for the analysis methods on crafted data (no database)."""

from __future__ import annotations

from datetime import datetime

import h3.api.basic_int as h3
import numpy as np
import pytest

from qingzhi.analytics.aoristic import aoristic_weights, busiest_hours, busiest_window, format_window, matrix_7x24
from qingzhi.analytics.hotspots import gi_star, kde_grid, kde_scores, top_cells
from qingzhi.analytics.ranking import pareto

CENTER = (30.2741, 120.1551)


AREA_CELLS = len(h3.grid_disk(h3.latlng_to_cell(*CENTER, 9), 40))  # a study area ~16 km across


def planted_counts(seed: int = 1) -> tuple[dict[int, float], int]:
    """Background noise over ~5 km plus 300 incidents planted around one spot; returns counts and that cell."""
    rng = np.random.default_rng(seed)
    lat = np.r_[CENTER[0] + rng.normal(0, 0.02, 2000), 30.2900 + rng.normal(0, 0.0004, 300)]
    lon = np.r_[CENTER[1] + rng.normal(0, 0.02, 2000), 120.1700 + rng.normal(0, 0.0004, 300)]
    counts: dict[int, float] = {}
    for la, lo in zip(lat, lon, strict=True):
        c = h3.latlng_to_cell(la, lo, 9)
        counts[c] = counts.get(c, 0) + 1
    return counts, h3.latlng_to_cell(30.2900, 120.1700, 9)


def test_planted_hotspot_is_top_and_significant() -> None:
    counts, planted = planted_counts()
    assert top_cells(counts, 1)[0][0] == planted
    gi = gi_star(counts, AREA_CELLS)
    assert planted in gi.significant(2.575829)
    assert max(gi.z, key=gi.z.get) in h3.grid_disk(planted, 1)
    # far from the plant, in the thin background, nothing is significant
    background = [c for c in counts if h3.grid_distance(c, planted) > 20]
    assert background and all(gi.z[c] < 2.575829 for c in background)


def test_gi_star_matches_esda() -> None:
    """Our vectorised Gi* equals esda.G_Local(star=True) z-scores on a small complete grid."""
    import esda
    from libpysal.weights import W

    rng = np.random.default_rng(3)
    cells = list(h3.grid_disk(h3.latlng_to_cell(*CENTER, 9), 6))  # 127 cells, a closed study area
    values = rng.poisson(2, len(cells)).astype(float)
    values[0] += 25
    counts = dict(zip(cells, values, strict=True))  # zeros listed, so that they get a z too
    index = {c: i for i, c in enumerate(cells)}
    neighbours = {i: [index[n] for n in h3.grid_ring(c, 1) if n in index] for i, c in enumerate(cells)}
    w = W(neighbours)
    g = esda.G_Local(values, w, transform="B", star=True, permutations=0)
    ours = gi_star(counts, n_cells=len(cells))
    # esda's ring weights stop at the edge of the study area; compare the interior cells
    interior = [i for i, c in enumerate(cells) if len(neighbours[i]) == 6]
    assert len(interior) > 50
    np.testing.assert_allclose([ours.z[cells[i]] for i in interior], g.Zs[interior], rtol=1e-6)


def test_aoristic_spreading() -> None:
    # Monday 23:30 to Tuesday 01:30: a quarter in Mon 23h, a half in Tue 0h, a quarter in Tue 1h
    w = aoristic_weights(datetime(2026, 3, 2, 23, 30), datetime(2026, 3, 3, 1, 30))
    assert w.sum() == pytest.approx(1.0)
    assert (w[23], w[24], w[25]) == pytest.approx((0.25, 0.5, 0.25))
    assert np.count_nonzero(w) == 3
    # a month is spread over every hour of the week, and still sums to one incident
    month = aoristic_weights(datetime(2019, 1, 1), datetime(2019, 2, 1))
    assert month.sum() == pytest.approx(1.0) and np.count_nonzero(month) == 168
    # many windowed incidents sum to their count
    rng = np.random.default_rng(5)
    total = sum(aoristic_weights(datetime(2026, 1, 1, int(h)), datetime(2026, 1, 1, int(h)) +
                                 np.timedelta64(int(m), "m").item()) for h, m in
                zip(rng.integers(0, 24, 200), rng.integers(1, 5000, 200), strict=True))
    assert total.sum() == pytest.approx(200.0)
    # a zero-length window is a point
    assert aoristic_weights(datetime(2026, 3, 8, 20), datetime(2026, 3, 8, 20))[6 * 24 + 20] == 1.0


def test_planted_evening_peak_is_the_busiest_window() -> None:
    rng = np.random.default_rng(2)
    how = np.zeros(168)
    for h in rng.integers(0, 168, 1000):  # background all week
        how[h] += 1
    for day in range(7):  # planted: 20:00–24:00 every day
        how[day * 24 + 20: day * 24 + 24] += 30
    m = matrix_7x24(how)
    start, share = busiest_window(m)
    assert format_window(start) == "20:00–24:00" and share > 0.4
    assert set(busiest_hours(m, 4)) == {20, 21, 22, 23}
    # a window wrapping midnight is found too
    late = np.zeros(168)
    late[[22, 23, 24, 25]] = 10
    assert format_window(busiest_window(matrix_7x24(late))[0]) == "22:00–02:00"


def test_gi_star_fallback_equals_vectorised() -> None:
    """The cell-by-cell path (used across pentagons or over huge areas) gives the same z-scores."""
    from qingzhi.analytics import hotspots

    counts, _ = planted_counts(2)
    fast = gi_star(counts, AREA_CELLS)
    limit = hotspots.MAX_GRID
    try:
        hotspots.MAX_GRID = 0
        slow = gi_star(counts, AREA_CELLS)
    finally:
        hotspots.MAX_GRID = limit
    np.testing.assert_allclose([slow.z[c] for c in counts], [fast.z[c] for c in counts])


def test_pareto_counts_shares_and_change() -> None:
    rows = pareto({"theft": 50, "fight": 30, "noise": 20}, {"theft": 40, "fight": 30})
    assert [r.key for r in rows] == ["theft", "fight", "noise"]
    assert [r.cumulative for r in rows] == pytest.approx([0.5, 0.8, 1.0])
    assert rows[0].change == pytest.approx(0.25) and rows[1].change == 0 and rows[2].change is None



def test_no_records_for_the_comparison_is_no_data_not_new() -> None:
    """A comparison period the records do not cover has no counts (not zero counts), and the summary says so."""
    from datetime import date

    from dashboard.analysis.summary import summary_text
    uncovered = pareto({"theft": 5}, None)
    assert (uncovered[0].previous, uncovered[0].change) == (None, None)
    peak = {"hours": [20], "weekday": 4, "window": "20:00–24:00", "window_share": 0.5}
    words = {}
    for previous, ranked in ((None, uncovered), (0.0, pareto({"theft": 5}, {})), (4.0, pareto({"theft": 5}, {"theft": 4}))):
        words[previous] = summary_text(lang="en", start=date(2026, 2, 2), end=date(2026, 3, 1), total=5, previous=previous,
                                       compare="previous", top=[], peak=peak, ranked=ranked, stations={})
    assert "5 incidents, no data vs the previous period" in words[None] and "theft 5 (100%, no data)" in words[None]
    assert "5 incidents, new vs the previous period" in words[0.0] and "(100%, new)" in words[0.0]
    assert "5 incidents, +25% vs the previous period" in words[4.0] and "(100%, +25%)" in words[4.0]

def test_kde_peaks_at_the_cluster() -> None:
    rng = np.random.default_rng(4)
    lat = np.r_[30.27 + rng.normal(0, 0.02, 500), 30.30 + rng.normal(0, 0.0005, 500)]
    lon = np.r_[120.15 + rng.normal(0, 0.02, 500), 120.18 + rng.normal(0, 0.0005, 500)]
    density, (lat0, lon0), (dlat, dlon) = kde_grid(lat, lon)
    r, c = np.unravel_index(np.argmax(density), density.shape)
    assert lat0 + (r + 0.5) * dlat == pytest.approx(30.30, abs=0.003)
    assert lon0 + (c + 0.5) * dlon == pytest.approx(120.18, abs=0.003)
    # density integrates to the number of points (per km² × cell area)
    assert density.sum() * (150 / 1000) ** 2 == pytest.approx(1000, rel=0.01)


def test_kde_ranking_flags_the_planted_spot_and_its_empty_neighbours() -> None:
    counts10: dict[int, float] = {}
    rng = np.random.default_rng(6)
    for la, lo in zip(30.29 + rng.normal(0, 0.0003, 200), 120.17 + rng.normal(0, 0.0003, 200), strict=True):
        c = h3.latlng_to_cell(la, lo, 10)
        counts10[c] = counts10.get(c, 0) + 1
    far = h3.latlng_to_cell(30.20, 120.10, 10)
    counts10[far] = 1
    planted = h3.latlng_to_cell(30.29, 120.17, 9)
    far9 = h3.latlng_to_cell(30.20, 120.10, 9)
    occupied = {h3.latlng_to_cell(*h3.cell_to_latlng(c), 9) for c in counts10}
    candidates = {n for c in occupied for n in h3.grid_disk(c, 1)}
    scores = kde_scores(counts10, candidates)
    assert set(scores) == candidates
    best = max(scores, key=scores.get)
    assert best in h3.grid_disk(planted, 1)
    ring = [c for c in h3.grid_ring(planted, 1) if c not in occupied]
    assert ring and all(scores[c] > scores[far9] for c in ring)  # empty but next to the spot
