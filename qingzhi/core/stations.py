"""Which police station's jurisdiction a point falls in (GeoJSON boundaries, no PostGIS)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def _rings(boundary: Any) -> list[np.ndarray]:
    """All rings (outer and holes) of a GeoJSON Polygon or MultiPolygon as arrays of [lon, lat]."""
    if boundary is None:
        return []
    geo = json.loads(boundary) if isinstance(boundary, str) else boundary
    polygons = [geo["coordinates"]] if geo.get("type") == "Polygon" else geo.get("coordinates", [])
    return [np.asarray(ring, float)[:, :2] for polygon in polygons for ring in polygon]


def _inside(rings: list[np.ndarray], lon: float, lat: float) -> bool:
    """Even-odd ray casting over every ring, so holes come out right."""
    crossings = 0
    for ring in rings:
        x0, y0 = ring[:, 0], ring[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        spans = (y0 > lat) != (y1 > lat)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x0 + (lat - y0) * (x1 - x0) / (y1 - y0)
        crossings += int(np.count_nonzero(spans & (lon < x_cross)))
    return crossings % 2 == 1


@dataclass(frozen=True)
class StationLocator:
    """The station whose jurisdiction contains a point, else the nearest station; None if there are none."""

    ids: tuple[str, ...]
    lat: np.ndarray
    lon: np.ndarray
    rings: tuple[list[np.ndarray], ...]

    @classmethod
    def from_rows(cls, rows: Sequence[Any]) -> StationLocator:
        """From `SELECT id, lat, lon, boundary FROM stations` rows."""
        return cls(tuple(r["id"] for r in rows), np.array([r["lat"] for r in rows], float),
                   np.array([r["lon"] for r in rows], float), tuple(_rings(r["boundary"]) for r in rows))

    def locate(self, lat: float, lon: float) -> str | None:
        """The station for this point."""
        if not self.ids:
            return None
        for station, rings in zip(self.ids, self.rings, strict=True):
            if rings and _inside(rings, lon, lat):
                return station
        dx = (self.lon - lon) * np.cos(np.radians(lat))
        return self.ids[int(np.argmin(dx**2 + (self.lat - lat) ** 2))]
