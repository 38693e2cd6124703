"""Map tiles from a local MBTiles file, for command centres on networks with no internet.

  GET /tiles/{z}/{x}/{y}.{ext}  -> the tile's bytes; 404 when the file has none there;
                                   400 for anything that is not a tile address

With QZ_TILES_MBTILES set, the maps' tile URL is this route (`install` swaps it into the
settings), so the Content-Security-Policy lets images come from 'self' only. The route is behind
the login gate like the pages: the file is the force's own map of its area (it may carry more
than streets), only pages behind the gate draw it, and the browser sends the session cookie with
every tile request anyway; tiles are cached privately for a day, so the gate's check is paid
once per tile. MBTiles keeps rows in TMS order (row 0 at the south), Leaflet asks in XYZ order
(y 0 at the north): row = 2^z - 1 - y.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, Response

from dashboard.context import ctx
from qingzhi.config import Settings
from qingzhi.errors import QingzhiError

blueprint = Blueprint("tiles", __name__, url_prefix="/tiles")
MAX_ZOOM = 24                           # deeper than any raster MBTiles (z 24 is ~1 cm per pixel)
FORMATS = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
NUMBER = re.compile(r"^[0-9]{1,8}$")
Y_NAME = re.compile(r"^([0-9]{1,8})\.([a-z]{3,4})$")
CACHE = "private, max-age=86400"


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


def install(server: object, settings: Settings) -> tuple[Settings, TileFile | None]:
    """With QZ_TILES_MBTILES: open the file, serve it, and point the settings' tile URL at it."""
    if settings.tiles_mbtiles is None:
        return settings, None
    tiles = open_tiles(settings.tiles_mbtiles)
    server.register_blueprint(blueprint)  # type: ignore[attr-defined]
    update = {"tile_url": tiles.url, "tile_attribution": tiles.attribution or settings.tile_attribution}
    return settings.model_copy(update=update), tiles


def _bad(why: str) -> Response:
    return Response(why + "\n", status=400, mimetype="text/plain")


ADDRESS = "a tile address is /tiles/{z}/{x}/{y}.{format} with whole numbers"


@blueprint.get("/", defaults={"rest": ""})
@blueprint.get("/<path:rest>")
def not_a_tile(rest: str) -> Response:
    """Any other path under /tiles/ (too many or too few parts): 400, not Dash's page for unknown paths."""
    return _bad(ADDRESS)


@blueprint.get("/<z>/<x>/<name>")
def tile(z: str, x: str, name: str) -> Response:
    """One tile; 400 for an address that cannot be a tile, 404 where the file has none."""
    got = Y_NAME.match(name)
    if not (NUMBER.match(z) and NUMBER.match(x) and got):
        return _bad(ADDRESS)
    zi, xi, yi = int(z), int(x), int(got[1])
    if zi > MAX_ZOOM:
        return _bad(f"tile zoom must be 0..{MAX_ZOOM}")
    if xi >= 1 << zi or yi >= 1 << zi:
        return _bad(f"tile x and y must be 0..{(1 << zi) - 1} at zoom {zi}")
    tiles: TileFile | None = ctx().tiles
    if tiles is None or got[2] != tiles.ext:
        return Response("no such tile\n", status=404, mimetype="text/plain")
    data = tiles.tile(zi, xi, yi)
    if data is None:
        return Response("no such tile\n", status=404, mimetype="text/plain", headers={"Cache-Control": CACHE})
    return Response(data, mimetype=FORMATS[tiles.ext], headers={"Cache-Control": CACHE})
