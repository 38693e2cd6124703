"""A local raster MBTiles file, read-only: the maps' tiles on a closed network (served by
dashboard/tiles.py) and the streets under the briefing's map (dashboard/briefing/basemap.py).
MBTiles keeps rows in TMS order (row 0 at the south); callers ask in XYZ order (y 0 at the north,
as Leaflet does): row = 2^z - 1 - y.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

from qingzhi.errors import QingzhiError

FORMATS = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass
class TileFile:
    """An open MBTiles file (read-only), its tile format and its attribution."""

    path: Path
    ext: str
    attribution: str | None
    db: sqlite3.Connection
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The tile URL template of the maps."""
        return "/tiles/{z}/{x}/{y}." + self.ext

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at XYZ address (z, x, y), or None where the file has none."""
        with self.lock:  # one sqlite connection shared by the server's threads
            row = self.db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                (z, x, (1 << z) - 1 - y)).fetchone()
        return None if row is None else bytes(row[0])

    def zooms(self) -> list[int]:
        """The zoom levels the file holds tiles at, shallowest first."""
        with self.lock:
            return [r[0] for r in self.db.execute("SELECT DISTINCT zoom_level FROM tiles ORDER BY 1")]


def open_tiles(path: Path) -> TileFile:
    """Open an MBTiles file; a one-line QingzhiError when it is missing, not MBTiles or not raster."""
    if not path.is_file():
        raise QingzhiError(f"QZ_TILES_MBTILES: no such file: {path}")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
        db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        raise QingzhiError(f"QZ_TILES_MBTILES: {path} is not an MBTiles file ({exc})") from None
    ext = str(meta.get("format", "png")).lower()
    if ext not in FORMATS:
        db.close()
        raise QingzhiError(f"QZ_TILES_MBTILES: {path} holds {ext!r} tiles; the maps draw raster tiles "
                           f"({', '.join(FORMATS)}), not vector ones")
    return TileFile(path, ext, meta.get("attribution"), db)
