"""Hotspot areas on H3 cells: counts, Getis-Ord Gi*, a grid kernel density, and hotspot quality.

Cells are H3 indexes as Python ints (h3.api.basic_int), which is how the aggregate tables store
them. Gi* is computed here, vectorised, rather than with esda.G_Local: building a libpysal W for
tens of thousands of cells on every map update takes seconds and its permutation inference more,
while with binary first-ring weights the analytical z-score is a few array operations; the test
suite checks this implementation against esda on a small grid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import h3.api.basic_int as h3
from h3 import H3BaseException
import numpy as np
from scipy import ndimage

Z95, Z99 = 1.959964, 2.575829


@dataclass(frozen=True)
class GiStar:
    """Gi* z-scores of the cells given (with incidents, or listed with zero)."""

    z: dict[int, float]

    def significant(self, level: float = Z95) -> set[int]:
        """Cells that are hot spots at this z threshold (one-sided, high values)."""
        return {c for c, z in self.z.items() if z >= level}


# The six neighbours of a cell in H3 local IJ coordinates.
IJ_NEIGHBOURS = np.array([(1, 0), (1, 1), (0, 1), (-1, 0), (-1, -1), (0, -1)])
MAX_GRID = 40_000_000  # cells of the dense IJ grid; beyond it (a country, not a city) sum neighbours one by one


def _ring_sums(cells: list[int], values: np.ndarray) -> np.ndarray:
    """Each cell's value plus its six neighbours' (cells not listed count zero).

    Vectorised on H3 local IJ coordinates (one small dense grid for a city); a cell-by-cell
    fallback where IJ coordinates are undefined (across a pentagon) or the area is huge.
    """
    try:
        origin = _ij_origin(cells[0])
        ij = np.array([_local_ij(origin, c) for c in cells])
        lo = ij.min(axis=0) - 1
        shape = ij.max(axis=0) - lo + 2
        if shape[0] * shape[1] > MAX_GRID:
            raise ValueError("area too large for a dense grid")
    except (ValueError, H3BaseException):
        index = dict(zip(cells, values, strict=True))
        return np.array([sum(index.get(n, 0.0) for n in h3.grid_disk(c, 1)) for c in cells])
    pos = ij - lo
    grid = np.zeros(tuple(shape))
    grid[pos[:, 0], pos[:, 1]] = values
    sums = values.copy()
    for di, dj in IJ_NEIGHBOURS:
        sums += grid[pos[:, 0] + di, pos[:, 1] + dj]
    return sums


_ORIGINS: dict[int, int] = {}


def _ij_origin(cell: int) -> int:
    """One fixed IJ origin per resolution (the first cell seen), so that cells' IJ can be cached."""
    return _ORIGINS.setdefault(h3.get_resolution(cell), cell)


@lru_cache(maxsize=500_000)
def _local_ij(origin: int, cell: int) -> tuple[int, int]:
    return h3.cell_to_local_ij(origin, cell)


def gi_star(counts: Mapping[int, float], n_cells: int) -> GiStar:
    """Getis-Ord Gi* with binary weights on each cell and its six neighbours (H3 ring 1).

    `n_cells` is the number of cells in the study area (qingzhi.analytics.figures: the area's
    cells and those holding its incidents); cells not in `counts` count as zero. z-scores are
    returned for the cells in `counts` (list a cell with zero to get its z).
    """
    if not counts:
        return GiStar({})
    cells = list(counts)
    n = max(n_cells, len(cells), 2)
    values = np.fromiter(counts.values(), float, len(cells))
    mean = values.sum() / n
    s = np.sqrt(max((values**2).sum() / n - mean**2, 0.0))
    if s == 0:
        return GiStar({c: 0.0 for c in cells})
    lsum = _ring_sums(cells, values)
    pentagons = set(h3.get_pentagons(h3.get_resolution(cells[0])))
    # each cell and its six neighbours; one of the 12 pentagons has five
    wsum = np.fromiter((6.0 if c in pentagons else 7.0 for c in cells), float, len(cells))
    z = (lsum - mean * wsum) / (s * np.sqrt((n * wsum - wsum**2) / (n - 1)))
    return GiStar(dict(zip(cells, z.tolist(), strict=True)))


def top_cells(counts: Mapping[int, float], n: int) -> list[tuple[int, float]]:
    """The `n` cells with the most incidents, most first (ties broken by cell id, for stability)."""
    if not counts:
        return []
    cells = np.fromiter(counts.keys(), np.int64, len(counts))
    values = np.fromiter(counts.values(), float, len(counts))
    order = np.lexsort((cells, -values))[:n]  # by count, then by cell id
    return [(int(cells[i]), float(values[i])) for i in order]


def kde_grid(
    lat: np.ndarray, lon: np.ndarray, weights: np.ndarray | None = None, *, cell_m: float = 150.0,
    bandwidth_m: float = 300.0,
) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    """A Gaussian kernel density on a regular grid: (density per km², (lat0, lon0), (dlat, dlon)).

    The points are binned on a `cell_m` grid and smoothed with a Gaussian of `bandwidth_m`
    (scipy.ndimage), which equals a Gaussian KDE evaluated at the grid centres up to the
    binning, and costs the same for a million points as for a thousand.
    """
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    w = np.ones_like(lat) if weights is None else np.asarray(weights, float)
    dlat = cell_m / 111_320.0
    dlon = cell_m / (111_320.0 * np.cos(np.radians(lat.mean())))
    pad = int(np.ceil(3 * bandwidth_m / cell_m))
    lat0, lon0 = lat.min() - pad * dlat, lon.min() - pad * dlon
    rows = int((lat.max() - lat0) / dlat) + pad + 1
    cols = int((lon.max() - lon0) / dlon) + pad + 1
    grid = np.zeros((rows, cols))
    np.add.at(grid, (((lat - lat0) / dlat).astype(int), ((lon - lon0) / dlon).astype(int)), w)
    smooth = ndimage.gaussian_filter(grid, sigma=bandwidth_m / cell_m, mode="constant")
    return smooth / (cell_m / 1000.0) ** 2, (lat0, lon0), (dlat, dlon)


def kde_scores(counts10: Mapping[int, float], candidates: Iterable[int], bandwidth_m: float = 300.0) -> dict[int, float]:
    """Kernel density (per km²) of the incidents at the centre of each candidate cell.

    `counts10` places the incidents at their res-10 cell centres (≤ 75 m off, far below the
    bandwidth). Ranking cells by this instead of by their own count is the KDE hotspot method:
    it can flag an empty cell between busy ones and smooths sparse types.
    """
    candidates = list(candidates)
    if not counts10 or not candidates:
        return {}
    cells10 = list(counts10)
    ll = np.array([cell_center(c) for c in cells10])
    density, (lat0, lon0), (dlat, dlon) = kde_grid(
        ll[:, 0], ll[:, 1], np.fromiter(counts10.values(), float, len(cells10)), bandwidth_m=bandwidth_m)
    at = np.array([cell_center(c) for c in candidates])
    r, c = ((at[:, 0] - lat0) / dlat).astype(int), ((at[:, 1] - lon0) / dlon).astype(int)
    inside = (r >= 0) & (r < density.shape[0]) & (c >= 0) & (c < density.shape[1])
    values = np.zeros(len(candidates))
    values[inside] = density[r[inside], c[inside]]
    return dict(zip(candidates, values.tolist(), strict=True))


def ranked(scores: Mapping[int, float]) -> list[int]:
    """Cells by score, highest first (ties by cell id, for stability); cells scoring 0 or less left out."""
    return [c for c, v in top_cells(scores, len(scores)) if v > 0]


@dataclass(frozen=True)
class Quality:
    """How well hotspots chosen on a training period caught the incidents of a test period.

    Standard definitions: hit rate = n / N, the share of the test incidents in the study area
    that fall in the flagged cells; coverage = a / A, the flagged cells' area over the study
    area's; Predictive Accuracy Index PAI = (n / N) / (a / A).
    """

    share: float          # share of the study area asked for (0.01 = 1 %)
    cells: int            # cells flagged: the best-ranked whose areas add up to at most share × A
    area_km2: float       # a: their area (h3.cell_area of each)
    coverage: float       # a / A
    hits: float           # n: test incidents in them
    total: float          # N: all test incidents in the study area
    hit_rate: float       # n / N
    pai: float            # hit_rate / coverage


def hotspot_quality(ranking: list[int], test: Mapping[int, float], area_km2: float,
                    shares: Iterable[float] = (0.01, 0.03, 0.05)) -> list[Quality]:
    """PAI and hit rate when the best-ranked cells covering `share` of the study area are flagged.

    Cells are taken in rank order while their summed real area stays within share × A (at least
    one cell); `test` holds the test incidents per cell, inside the study area only.
    """
    if not ranking or area_km2 <= 0:
        return []
    areas = np.cumsum([cell_area(c) for c in ranking])
    total = float(sum(test.values()))
    out = []
    for share in shares:
        k = max(1, int(np.searchsorted(areas, share * area_km2, side="right")))
        hits = float(sum(test.get(c, 0.0) for c in ranking[:k]))
        coverage = float(areas[k - 1]) / area_km2
        rate = hits / total if total else 0.0
        out.append(Quality(share, k, float(areas[k - 1]), coverage, hits, total, rate, rate / coverage))
    return out


@lru_cache(maxsize=500_000)
def cell_area(cell: int) -> float:
    """The cell's real area in km² (H3 cells of one resolution differ in size by up to 2×)."""
    return h3.cell_area(cell, unit="km^2")


@lru_cache(maxsize=500_000)
def cell_center(cell: int) -> tuple[float, float]:
    """(lat, lon) of the cell's centre (cached: the same cells come back at every update)."""
    return h3.cell_to_latlng(cell)


@lru_cache(maxsize=200_000)
def cell_polygon(cell: int) -> list[list[float]]:
    """The cell's boundary as a closed GeoJSON ring of [lon, lat] (cached: the same cells recur; don't mutate)."""
    ring = [[round(lon, 6), round(lat, 6)] for lat, lon in h3.cell_to_boundary(cell)]
    return ring + [ring[0]]
