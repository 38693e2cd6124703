"""Map tiles from a local MBTiles file, for command centres on networks with no internet.

  GET /tiles/{z}/{x}/{y}.{ext}  -> the tile's bytes; 404 when the file has none there;
                                   400 for anything that is not a tile address

With QZ_TILES_MBTILES set, the maps' tile URL is this route (`install` swaps it into the
settings), so the Content-Security-Policy lets images come from 'self' only. The route is behind
the login gate like the pages: the file is the force's own map of its area (it may carry more
than streets), only pages behind the gate draw it, and the browser sends the session cookie with
every tile request anyway; tiles are cached privately for a day, so the gate's check is paid
once per tile. The file is read by dashboard/mbtiles.py (the briefing's map reads it too).
"""

from __future__ import annotations

import re

from flask import Blueprint, Response

from dashboard.context import ctx
from dashboard.mbtiles import FORMATS, TileFile, open_tiles
from qingzhi.config import Settings

blueprint = Blueprint("tiles", __name__, url_prefix="/tiles")
MAX_ZOOM = 24                           # deeper than any raster MBTiles (z 24 is ~1 cm per pixel)
NUMBER = re.compile(r"^[0-9]{1,8}$")
Y_NAME = re.compile(r"^([0-9]{1,8})\.([a-z]{3,4})$")
CACHE = "private, max-age=86400"


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
