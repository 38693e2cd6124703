"""WGS-84 positions as drawn on Chinese map tiles, and map clicks back to WGS-84.

Tiles from AMap/Gaode and Tencent are drawn in GCJ-02 and Baidu's in BD-09: a WGS-84 fix drawn
on them unconverted sits 100-700 m off. The database keeps WGS-84 (what GPS sends); only what is
drawn is converted (`to_tiles`), and a position picked on the map comes back through `from_tiles`.

The forward transforms are coordTransform's (its batch C code takes numpy arrays). Its inverse is
the one-step estimate (about a metre off), so `from_tiles` refines it by fixed-point iteration on
the forward transform until the round trip closes to under a millimetre. Outside the library's
China box GCJ-02 is WGS-84 (the offset is only applied in China); BD-09 always adds Baidu's shift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

import coordTransform
import numpy as np

TileCrs = Literal["wgs84", "gcj02", "bd09"]
TILE_CRS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")
_FORWARD: dict[str, Callable[..., Any]] = {
    "gcj02": coordTransform.wgs84_to_gcj02,
    "bd09": coordTransform.wgs84_to_bd09,
}
INVERSE_TOL_DEG = 1e-10   # ~0.01 mm: where the refinement stops
INVERSE_MAX_STEPS = 8     # each step gains ~3 digits (the offset changes slowly with position)

Array = np.ndarray


def _forward(lat: Array, lon: Array, crs: str) -> tuple[Array, Array]:
    fn = _FORWARD[crs]
    out_lon, out_lat = fn(np.ascontiguousarray(lon, dtype=np.float64), np.ascontiguousarray(lat, dtype=np.float64))
    return np.asarray(out_lat, dtype=np.float64), np.asarray(out_lon, dtype=np.float64)


def _check(crs: str) -> None:
    if crs not in TILE_CRS:
        raise ValueError(f"unknown tile CRS {crs!r}: one of {', '.join(TILE_CRS)}")


def to_tiles(lat: Any, lon: Any, crs: str) -> tuple[Array, Array]:
    """WGS-84 degrees (scalars or arrays) as drawn on tiles in `crs`, as float arrays."""
    _check(crs)
    lat, lon = np.atleast_1d(np.asarray(lat, dtype=np.float64)), np.atleast_1d(np.asarray(lon, dtype=np.float64))
    if crs == "wgs84" or lat.size == 0:
        return lat, lon
    return _forward(lat, lon, crs)


def from_tiles(lat: Any, lon: Any, crs: str) -> tuple[Array, Array]:
    """A position on tiles in `crs` back to WGS-84: the point whose `to_tiles` is it."""
    _check(crs)
    lat, lon = np.atleast_1d(np.asarray(lat, dtype=np.float64)), np.atleast_1d(np.asarray(lon, dtype=np.float64))
    if crs == "wgs84" or lat.size == 0:
        return lat, lon
    wlat, wlon = lat.copy(), lon.copy()
    for _ in range(INVERSE_MAX_STEPS):
        tlat, tlon = _forward(wlat, wlon, crs)
        dlat, dlon = tlat - lat, tlon - lon
        wlat, wlon = wlat - dlat, wlon - dlon
        if max(np.abs(dlat).max(), np.abs(dlon).max()) < INVERSE_TOL_DEG:
            break
    return wlat, wlon


def point_to_tiles(lat: float, lon: float, crs: str) -> tuple[float, float]:
    """One WGS-84 point as drawn on tiles in `crs`."""
    a, b = to_tiles(lat, lon, crs)
    return float(a[0]), float(b[0])


def point_from_tiles(lat: float, lon: float, crs: str) -> tuple[float, float]:
    """One point picked on tiles in `crs`, in WGS-84."""
    a, b = from_tiles(lat, lon, crs)
    return float(a[0]), float(b[0])


def _positions(coords: Any, out: list[list[float]]) -> None:
    """Collect the [lon, lat, ...] positions of nested GeoJSON coordinates."""
    if coords and isinstance(coords[0], (int, float)):
        out.append(coords)
    else:
        for c in coords:
            _positions(c, out)


def _rebuild(coords: Any, moved: Iterator[list[float]]) -> Any:
    if coords and isinstance(coords[0], (int, float)):
        return next(moved)
    return [_rebuild(c, moved) for c in coords]


def _geometries(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    kind = obj.get("type")
    if kind == "FeatureCollection":
        for f in obj.get("features", ()):
            yield from _geometries(f)
    elif kind == "Feature":
        if obj.get("geometry"):
            yield from _geometries(obj["geometry"])
    elif kind == "GeometryCollection":
        for g in obj.get("geometries", ()):
            yield from _geometries(g)
    elif "coordinates" in obj:
        yield obj


def _copy_tree(obj: Any) -> Any:
    """A copy of the GeoJSON's dicts and lists down to the geometries (properties are shared)."""
    if isinstance(obj, dict):
        return {k: (v if k == "properties" else _copy_tree(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_copy_tree(v) for v in obj]
    return obj


def geojson_to_tiles(obj: dict[str, Any], crs: str) -> dict[str, Any]:
    """A GeoJSON object (collection, feature or geometry) with every position as drawn in `crs`.
    The input is not changed (payloads may be cached); all positions are converted in one batch."""
    _check(crs)
    if crs == "wgs84":
        return obj
    out = _copy_tree(obj)
    geoms = list(_geometries(out))
    found: list[list[float]] = []
    for g in geoms:
        _positions(g["coordinates"], found)
    if not found:
        return out
    lon = np.array([p[0] for p in found], dtype=np.float64)
    lat = np.array([p[1] for p in found], dtype=np.float64)
    tlat, tlon = to_tiles(lat, lon, crs)
    moved = iter([[round(float(x), 7), round(float(y), 7), *p[2:]] for x, y, p in zip(tlon, tlat, found)])
    for g in geoms:
        g["coordinates"] = _rebuild(g["coordinates"], moved)
    return out


def rows_to_tiles(rows: list[list[Any]], lat_at: int, lon_at: int, crs: str) -> list[list[Any]]:
    """Rows (lists) with a WGS-84 position at `lat_at`/`lon_at` (None: no fix) as drawn in `crs`."""
    _check(crs)
    have = [i for i, r in enumerate(rows) if r[lat_at] is not None and r[lon_at] is not None]
    if crs == "wgs84" or not have:
        return rows
    tlat, tlon = to_tiles([rows[i][lat_at] for i in have], [rows[i][lon_at] for i in have], crs)
    out = [list(r) for r in rows]
    for i, a, b in zip(have, tlat.tolist(), tlon.tolist()):
        out[i][lat_at], out[i][lon_at] = round(a, 7), round(b, 7)
    return out
