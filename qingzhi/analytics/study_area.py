"""The study area of the hotspot figures: the area policed, against which shares of area are taken.

Chosen, in this order (`choose`):
1. `jurisdictions` — the union of the stations' jurisdictions, when any station has one;
2. `boundary_file` — a GeoJSON boundary the user gives (setting `study_area`);
3. `concave_hull` — the concave hull of the incidents' res-10 cells, after dropping outlying
   groups of cells (a stray point 50 km away must not stretch the area).
Incidents outside the area are not counted in the figures; they are counted and listed apart.

Areas are measured on a local Lambert azimuthal equal-area projection of the sphere H3 uses, so
the area's km² and the cells' km² (h3.cell_area) are on the same footing. A cell is inside,
outside or on the edge of the area; only for edge cells do the incidents' own coordinates decide.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import h3.api.basic_int as h3
import numpy as np
import shapely
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely.geometry import MultiPoint, Polygon, shape
from shapely.geometry.base import BaseGeometry

from qingzhi.analytics.hotspots import cell_center
from qingzhi.errors import QingzhiError

R_KM = 6371.007180918475  # H3's authalic Earth radius
HULL_RATIO = 0.3          # shapely.concave_hull: 0 follows the points closely, 1 is the convex hull
# Outlying: a group of cells (linked when closer than max(LINK_KM, 3 × the 90th percentile of the
# distance to the nearest cell)) holding less than OUTLIER_SHARE of the incidents, more than
# max(GAP_KM, 3 × the link) from the larger groups, and wholly beyond Tukey's far fence
# (Q3 + FENCE_IQR × IQR) of the incidents' distances from their median point.
OUTLIER_SHARE = 0.01
LINK_KM = 1.0
GAP_KM = 3.0
FENCE_IQR = 3.0


class AreaError(QingzhiError):
    """A boundary that cannot be a study area; the message says why."""


@dataclass(frozen=True)
class Projection:
    """A Lambert azimuthal equal-area projection (km) centred on (lat0, lon0), on H3's sphere."""

    lat0: float
    lon0: float

    def forward(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) in km of the points (degrees)."""
        phi, lam = np.radians(lat), np.radians(lon) - np.radians(self.lon0)
        phi0 = np.radians(self.lat0)
        k = np.sqrt(2 / (1 + np.sin(phi0) * np.sin(phi) + np.cos(phi0) * np.cos(phi) * np.cos(lam)))
        return R_KM * k * np.cos(phi) * np.sin(lam), R_KM * k * (np.cos(phi0) * np.sin(phi) -
                                                                  np.sin(phi0) * np.cos(phi) * np.cos(lam))

    def inverse(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lon, lat) in degrees of projected points."""
        rho = np.hypot(x, y)
        c = 2 * np.arcsin(np.clip(rho / (2 * R_KM), -1, 1))
        phi0 = np.radians(self.lat0)
        with np.errstate(invalid="ignore", divide="ignore"):
            phi = np.arcsin(np.cos(c) * np.sin(phi0) + np.where(rho > 0, y * np.sin(c) * np.cos(phi0) / rho, 0))
        lam = np.arctan2(x * np.sin(c), rho * np.cos(phi0) * np.cos(c) - y * np.sin(phi0) * np.sin(c))
        return np.degrees(lam) + self.lon0, np.degrees(phi)

    def geometry(self, geom: BaseGeometry, *, inverse: bool = False) -> BaseGeometry:
        """A geometry projected (or, with `inverse`, brought back to degrees)."""
        step = self.inverse if inverse else self.forward
        return shapely.transform(geom, lambda xy: np.column_stack(step(xy[:, 0], xy[:, 1])))


@dataclass(frozen=True)
class StudyArea:
    """The area policed: where it came from, its outline in degrees (lon, lat), and its projection."""

    source: str               # 'jurisdictions', 'boundary_file' or 'concave_hull'
    detail: str               # what it is made of, for people: '4 station jurisdictions', a file name, …
    geometry: BaseGeometry    # (Multi)Polygon, lon/lat
    projection: Projection
    _memo: dict = field(default_factory=dict, compare=False, repr=False)  # per-resolution bands and cells

    @cached_property
    def projected(self) -> BaseGeometry:
        """The outline in km (prepared for fast point tests)."""
        geom = self.projection.geometry(self.geometry)
        shapely.prepare(geom)
        return geom

    @cached_property
    def km2(self) -> float:
        """The area in km² (equal-area projection of H3's sphere)."""
        return float(self.projected.area)

    def covers(self, lat: Iterable[float], lon: Iterable[float]) -> np.ndarray:
        """Whether each point lies in the area (its boundary included)."""
        x, y = self.projection.forward(np.asarray(list(lon), float), np.asarray(list(lat), float))
        return shapely.intersects_xy(self.projected, x, y)

    def classify(self, cells: Iterable[int]) -> tuple[set[int], set[int], set[int]]:
        """(inside, outside, edge): cells wholly inside, wholly outside, and those the boundary may cross."""
        cells = list(cells)
        if not cells:
            return set(), set(), set()
        res = h3.get_resolution(cells[0])
        inner, outer = self._bands(res)
        ll = np.array([cell_center(c) for c in cells])
        x, y = self.projection.forward(ll[:, 1], ll[:, 0])
        surely_in = shapely.contains_xy(inner, x, y)
        surely_out = ~shapely.intersects_xy(outer, x, y)
        pick = lambda mask: {c for c, m in zip(cells, mask, strict=True) if m}  # noqa: E731
        return pick(surely_in), pick(surely_out), pick(~surely_in & ~surely_out)

    def _bands(self, res: int) -> tuple[BaseGeometry, BaseGeometry]:
        """The area shrunk and grown by more than any cell's radius at `res` (prepared)."""
        if ("bands", res) not in self._memo:
            r = 2 * h3.average_hexagon_edge_length(res, unit="km")  # a hexagon's radius is its edge; sizes vary < 2×
            inner, outer = self.projected.buffer(-r), self.projected.buffer(r)
            shapely.prepare(inner)
            shapely.prepare(outer)
            self._memo["bands", res] = inner, outer
        return self._memo["bands", res]

    def cells(self, res: int) -> frozenset[int]:
        """The cells at `res` whose centre lies in the area."""
        if ("cells", res) not in self._memo:
            self._memo["cells", res] = frozenset(h3.geo_to_cells(self.geometry, res) if self.km2 else ())
        return self._memo["cells", res]

    def summary(self) -> dict[str, Any]:
        """What the figures were computed against, for a page or a report."""
        return {"source": self.source, "detail": self.detail, "km2": round(self.km2, 3)}


def polygons(geojson: Any) -> BaseGeometry:
    """The union of the polygons in a GeoJSON geometry, Feature or FeatureCollection (AreaError if none)."""
    try:
        geo = json.loads(geojson) if isinstance(geojson, str | bytes) else geojson
    except (ValueError, RecursionError) as exc:  # (nesting too deep)
        raise AreaError(f"not GeoJSON: {exc}") from None
    if not isinstance(geo, dict):
        raise AreaError("not a GeoJSON object")
    kind = geo.get("type")
    if kind == "FeatureCollection":
        parts = [f.get("geometry") for f in geo.get("features") or [] if isinstance(f, dict)]
    elif kind == "Feature":
        parts = [geo.get("geometry")]
    elif kind == "GeometryCollection":
        parts = geo.get("geometries") or []
    else:
        parts = [geo]
    found = []
    for part in parts:
        if not isinstance(part, dict) or part.get("type") not in ("Polygon", "MultiPolygon"):
            continue
        try:
            geom = shape(part)
        except (ValueError, TypeError, IndexError, AttributeError) as exc:
            raise AreaError(f"bad {part.get('type')}: {exc}") from None
        found.append(geom if geom.is_valid else shapely.make_valid(geom))
    union = shapely.unary_union(found) if found else None
    if union is None or union.is_empty or union.area == 0:
        raise AreaError("no Polygon or MultiPolygon with an area in it")
    bounds = union.bounds
    if bounds[0] < -180 or bounds[2] > 180 or bounds[1] < -90 or bounds[3] > 90:
        raise AreaError(f"coordinates beyond longitude/latitude degrees {bounds}: GeoJSON is [lon, lat] in WGS-84")
    return union


def from_polygons(geometry: BaseGeometry, source: str, detail: str) -> StudyArea:
    """A study area from an outline in degrees."""
    lon, lat = geometry.centroid.x, geometry.centroid.y
    return StudyArea(source, detail, geometry, Projection(lat, lon))


@lru_cache(maxsize=8)
def from_jurisdictions(boundaries: tuple[str, ...]) -> StudyArea:
    """The union of the stations' jurisdictions (GeoJSON texts; cached, as they rarely change)."""
    geometry = shapely.unary_union([polygons(b) for b in boundaries])
    return from_polygons(geometry, "jurisdictions", f"{len(boundaries)} station jurisdictions")


def concave_hull(counts10: Mapping[int, float]) -> StudyArea:
    """The concave hull of the incidents' res-10 cells, without outlying groups of cells.

    Cells closer to each other than a link distance form groups; a small group far beyond where
    the incidents usually lie is outlying (the constants above: a mis-geocoded stray point is, a
    second town with its share of the incidents or the thin edge of a city is not). The hull of
    the rest, grown by a cell's radius so that their cells lie wholly inside, is the area;
    incidents beyond it are outliers, counted and listed apart.
    """
    cells = [c for c, n in counts10.items() if n > 0]
    if not cells:  # nothing to analyse either
        return StudyArea("concave_hull", "no incidents", Polygon(), Projection(0.0, 0.0))
    weights = np.array([counts10[c] for c in cells], float)
    ll = np.array([cell_center(c) for c in cells])
    centre = np.median(ll, axis=0)
    proj = Projection(float(centre[0]), float(centre[1]))
    xy = np.column_stack(proj.forward(ll[:, 1], ll[:, 0]))
    keep = _main_groups(xy, weights)
    radius = 2 * h3.average_hexagon_edge_length(10, unit="km")
    hull = shapely.concave_hull(MultiPoint(xy[keep]), ratio=HULL_RATIO).buffer(radius)
    geometry = proj.geometry(hull, inverse=True)
    dropped = int(weights[~keep].sum())
    detail = f"concave hull of {int(weights[keep].sum()):,} incidents" + (
        f" ({dropped:,} in outlying cells left out)" if dropped else "")
    return StudyArea("concave_hull", detail, geometry, proj)


def _main_groups(xy: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Which points are not outlying (see concave_hull); `xy` is centred on the incidents' median."""
    if len(xy) < 3:
        return np.ones(len(xy), bool)
    tree = cKDTree(xy)
    nearest = tree.query(xy, k=2)[0][:, 1]
    link = max(LINK_KM, 3 * float(np.percentile(nearest, 90)))
    n_groups, label = connected_components(tree.sparse_distance_matrix(tree, link, output_type="coo_matrix"),
                                           directed=False)
    share = np.bincount(label, weights, n_groups) / weights.sum()
    main = share[label] >= OUTLIER_SHARE
    if not main.any() or main.all():
        return np.ones(len(xy), bool)
    r = np.hypot(xy[:, 0], xy[:, 1])
    q1, q3 = _weighted_quantiles(r, weights, (0.25, 0.75))
    gap = cKDTree(xy[main]).query(xy[~main])[0]  # from each point of a small group to the main groups
    far = (gap > max(GAP_KM, 3 * link)) & (r[~main] > q3 + FENCE_IQR * (q3 - q1))
    near = np.zeros(n_groups, bool)  # a small group with any point not far away stays
    np.logical_or.at(near, label[~main], ~far)
    near[label[main]] = True
    return near[label]


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    order = np.argsort(values)
    cum = np.cumsum(weights[order]) / weights.sum()
    return [float(values[order][min(np.searchsorted(cum, q), len(cum) - 1)]) for q in qs]


def choose(jurisdictions: list[str], boundary: Any | None, boundary_name: str | None,
           counts10: Mapping[int, float] | None) -> StudyArea:
    """The study area by the rule of the module doc.

    `jurisdictions` are the stations' boundaries (GeoJSON texts), `boundary` the user's GeoJSON
    (parsed) and its name, `counts10` the incidents per res-10 cell (for the hull; may be None
    when one of the others exists).
    """
    if jurisdictions:
        return from_jurisdictions(tuple(sorted(jurisdictions)))
    if boundary is not None:
        return from_polygons(polygons(boundary), "boundary_file", boundary_name or "boundary file")
    return concave_hull(counts10 or {})
