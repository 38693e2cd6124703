"""Streets under the briefing's map of calls, from the local MBTiles file (QZ_TILES_MBTILES), so
that the map in a PDF printed on a closed network shows where the calls were.

The tiles covering the calls are stitched into one image at the deepest zoom the file holds that
keeps it under MAX_PX, and the map is drawn in Web Mercator metres (the tiles' own projection),
with the calls and stations moved to the tiles' datum first (QZ_TILE_CRS, qingzhi/core/map_datum.py)
as every other map does. Without a file, or where it has no tile, the map stays on plain axes.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from dashboard.mbtiles import TileFile, open_tiles
from qingzhi.config import Settings
from qingzhi.core import map_datum

R = 6_378_137.0               # Web Mercator's sphere (metres)
TILE_PX = 256
MAX_PX = 1600                 # the stitched image's longest side at most (the export draws the map ~1,350 px wide)
PAD = 0.08                    # of the calls' extent, added round it
MIN_SPAN_M = 1500.0           # a map of a single place still shows its streets around it


@dataclass(frozen=True)
class Basemap:
    """The MBTiles file the streets come from and the datum its tiles are drawn in."""

    tiles: TileFile
    crs: str


@dataclass(frozen=True)
class Streets:
    """A stitched image and where it lies, in Web Mercator metres (x west→east, y south→north)."""

    image: Image.Image
    west: float
    south: float
    east: float
    north: float


def basemap_of(settings: Settings, tiles: TileFile | None = None) -> Basemap | None:
    """The briefing's basemap where the settings name an MBTiles file (`tiles`: already open), else None."""
    if settings.tiles_mbtiles is None:
        return None
    return Basemap(tiles or _open(Path(settings.tiles_mbtiles).resolve()), settings.tile_crs)


@functools.lru_cache(maxsize=4)
def _open(path: Path) -> TileFile:
    return open_tiles(path)  # read-only, shared by threads under its lock: opened once per process


def mercator(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator metres of WGS-84-like degrees (the tiles' datum already applied)."""
    lat = np.clip(np.asarray(lat, float), -85.05112878, 85.05112878)
    return R * np.radians(np.asarray(lon, float)), R * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))


def padded(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """(west, south, east, north) round the points, padded, at least MIN_SPAN_M each way."""
    west, east, south, north = float(x.min()), float(x.max()), float(y.min()), float(y.max())
    half_w = max(east - west, MIN_SPAN_M) * (0.5 + PAD)
    half_h = max(north - south, MIN_SPAN_M) * (0.5 + PAD)
    cx, cy = (west + east) / 2, (south + north) / 2
    return cx - half_w, cy - half_h, cx + half_w, cy + half_h


def stitch(tiles: TileFile, west: float, south: float, east: float, north: float) -> Streets | None:
    """The file's tiles over this box (Web Mercator metres), stitched; None where it holds none there."""
    world = 2 * math.pi * R
    for zoom in sorted(tiles.zooms(), reverse=True):
        px = TILE_PX * (1 << zoom) / world                      # pixels per metre at this zoom
        if max(east - west, north - south) * px <= MAX_PX:
            break
    else:
        return None
    n = 1 << zoom

    def col(x: float) -> int:
        return min(n - 1, max(0, int((x + world / 2) / world * n)))

    def row(y: float) -> int:
        return min(n - 1, max(0, int((world / 2 - y) / world * n)))

    x0, x1, y0, y1 = col(west), col(east), row(north), row(south)
    image = Image.new("RGB", ((x1 - x0 + 1) * TILE_PX, (y1 - y0 + 1) * TILE_PX), "#f8fafc")
    found = 0
    for tx in range(x0, x1 + 1):
        for ty in range(y0, y1 + 1):
            data = tiles.tile(zoom, tx, ty)
            if data is None:
                continue
            try:
                with Image.open(io.BytesIO(data)) as tile:
                    image.paste(tile.convert("RGB").resize((TILE_PX, TILE_PX)), ((tx - x0) * TILE_PX, (ty - y0) * TILE_PX))
            except (OSError, ValueError):   # a damaged tile is left blank, as a missing one: the briefing still comes
                continue
            found += 1
    if not found:
        return None
    size = world / n
    return Streets(image, west=x0 * size - world / 2, north=world / 2 - y0 * size,
                   east=(x1 + 1) * size - world / 2, south=world / 2 - (y1 + 1) * size)


def on_tiles(basemap: Basemap, lat: list[float], lon: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator metres of WGS-84 positions, moved to the tiles' datum first."""
    if not lat:
        return np.zeros(0), np.zeros(0)
    tlat, tlon = map_datum.to_tiles(np.asarray(lat, float), np.asarray(lon, float), basemap.crs)
    return mercator(tlat, tlon)
