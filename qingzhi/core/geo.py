"""Local metric coordinates around a city centre, and conversions to WGS-84.

A county-sized district or city (tens of km) is small enough for an equirectangular projection:
the error is well under a metre, far below GPS accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQ = 111_320.0


@dataclass(frozen=True)
class Projection:
    """x metres east and y metres north of (lat0, lon0)."""

    lat0: float
    lon0: float

    @property
    def _kx(self) -> float:
        return M_PER_DEG_LON_EQ * math.cos(math.radians(self.lat0))

    def to_xy(self, lat: np.ndarray | float, lon: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """WGS-84 degrees to local metres."""
        return (np.asarray(lon) - self.lon0) * self._kx, (np.asarray(lat) - self.lat0) * M_PER_DEG_LAT

    def to_latlon(self, x: np.ndarray | float, y: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Local metres to WGS-84 degrees."""
        return self.lat0 + np.asarray(y) / M_PER_DEG_LAT, self.lon0 + np.asarray(x) / self._kx

    def geojson(self, poly: BaseGeometry) -> dict:
        """A local-metre Polygon as a GeoJSON Polygon in lon/lat (rounded to ~1 m)."""
        if not isinstance(poly, Polygon):
            raise ValueError(f"expected a Polygon, got {poly.geom_type}")
        rings = [poly.exterior, *poly.interiors]
        coords = []
        for ring in rings:
            xs, ys = np.asarray(ring.coords).T
            lat, lon = self.to_latlon(xs, ys)
            coords.append([[round(float(a), 6), round(float(b), 6)] for a, b in zip(lon, lat)])
        return {"type": "Polygon", "coordinates": coords}
