"""Which police station's jurisdiction a point falls in (GeoJSON boundaries, no PostGIS), and stations
by name (a person reads a station's name in their language, never its id)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np


def _rings(boundary: Any) -> list[np.ndarray]:
    """All rings (outer and holes) of a GeoJSON Polygon or MultiPolygon as arrays of [lon, lat]."""
    if boundary is None:
        return []
    geo = json.loads(boundary) if isinstance(boundary, str) else boundary
    polygons = [geo["coordinates"]] if geo.get("type") == "Polygon" else geo.get("coordinates", [])
    return [np.asarray(ring, float)[:, :2] for polygon in polygons for ring in polygon]


CHUNK = 1_000_000  # points × ring vertices compared at once (memory bound of the vectorised test)


def _inside(rings: list[np.ndarray], lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether each point is inside: even-odd ray casting over every ring, so holes come out right."""
    crossings = np.zeros(len(lon), int)
    for ring in rings:
        x0, y0 = ring[:, 0], ring[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        step = max(1, CHUNK // len(x0))
        for start in range(0, len(lon), step):
            la, lo = lat[start:start + step, None], lon[start:start + step, None]
            spans = (y0 > la) != (y1 > la)
            with np.errstate(divide="ignore", invalid="ignore"):
                x_cross = x0 + (la - y0) * (x1 - x0) / (y1 - y0)
            crossings[start:start + step] += np.count_nonzero(spans & (lo < x_cross), axis=1)
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
        return self.locate_many(np.array([lat], float), np.array([lon], float))[0]

    def locate_many(self, lat: np.ndarray, lon: np.ndarray) -> list[str | None]:
        """The station for each point (vectorised: an import locates a million points at once)."""
        lat, lon = np.asarray(lat, float), np.asarray(lon, float)
        if not self.ids:
            return [None] * len(lat)
        found = np.full(len(lat), -1)
        for k, rings in enumerate(self.rings):
            if rings:
                todo = np.flatnonzero(found < 0)
                found[todo[_inside(rings, lon[todo], lat[todo])]] = k
        rest = np.flatnonzero(found < 0)
        step = max(1, CHUNK // len(self.ids))
        for start in range(0, len(rest), step):
            part = rest[start:start + step]
            dx = (self.lon - lon[part, None]) * np.cos(np.radians(lat[part, None]))
            found[part] = np.argmin(dx**2 + (self.lat - lat[part, None]) ** 2, axis=1)
        return [self.ids[k] for k in found.tolist()]


async def station_rows(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every station's id and names, by id."""
    return [dict(r) for r in await conn.fetch("SELECT id, name_zh, name_en FROM stations ORDER BY id")]


def local_name(row: Mapping[str, Any], lang: str) -> str:
    """A station row's name in `lang` (its id where it has none): people read names, never ids."""
    return row["name_zh" if lang == "zh" else "name_en"] or row["id"]
