"""A small raster MBTiles file made here: solid-colour PNG tiles written with zlib, in TMS row order."""

from __future__ import annotations

import sqlite3
import struct
import zlib
from pathlib import Path

TILE_PX = 256


def solid_png(rgb: tuple[int, int, int], size: int = TILE_PX, edge: tuple[int, int, int] | None = None) -> bytes:
    """A size×size PNG of one colour (8-bit RGB, no filter), with a 2-pixel `edge` colour round it if given."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    edge = edge or rgb
    inner = b"\x00" + bytes(edge) * 2 + bytes(rgb) * (size - 4) + bytes(edge) * 2
    rows = [b"\x00" + bytes(edge) * size] * 2 + [inner] * (size - 4) + [b"\x00" + bytes(edge) * size] * 2
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


def xyz_tiles_around(lat: float, lon: float, zooms: range, reach: int = 3) -> list[tuple[int, int, int]]:
    """XYZ addresses of the tiles within `reach` tiles of (lat, lon) at each zoom."""
    import math

    out = []
    for z in zooms:
        n = 1 << z
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        out += [(z, i, j) for i in range(max(0, x - reach), min(n, x + reach + 1))
                for j in range(max(0, y - reach), min(n, y + reach + 1))]
    return out


def write_mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes], fmt: str = "png",
                  attribution: str | None = "© 测试底图 local test tiles") -> Path:
    """An MBTiles file with these tiles by XYZ address (stored as TMS rows, as the spec says)."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE metadata (name text, value text)")
    db.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)")
    meta = {"name": "test", "format": fmt, "type": "baselayer", **({"attribution": attribution} if attribution else {})}
    db.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
    db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                   [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()])
    db.commit()
    db.close()
    return path
