"""The briefing's map of calls on the streets of the local MBTiles file (dashboard/briefing/basemap.py):
the tiles under the calls stitched in the right place (each tile a colour of its own, so a pixel tells
which tile it came from), the calls moved to the tiles' datum, the plain map where there are no tiles,
and the image really drawn in the exported chart (kaleido, real Chromium)."""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from mbtiles_helpers import solid_png, write_mbtiles, xyz_tiles_around

from dashboard.briefing import charts
from dashboard.briefing.basemap import Basemap, basemap_of, mercator
from dashboard.mbtiles import open_tiles
from qingzhi.config import load_settings

LAT, LON = 30.2741, 120.1551
ZOOMS = range(12, 16)


def colour(z: int, x: int, y: int) -> tuple[int, int, int]:
    """A colour of this tile's own (neighbours always differ)."""
    return (x * 67) % 200 + 40, (y * 101) % 200 + 40, z * 12


def tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    """The XYZ tile holding a point, by the slippy-map formula."""
    n = 1 << z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


@pytest.fixture(scope="module")
def tiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("basemap") / "city.mbtiles"
    return write_mbtiles(path, {a: solid_png(colour(*a)) for a in xyz_tiles_around(LAT, LON, ZOOMS, reach=6)})


def briefing(points: list[tuple[float, float]]) -> dict:
    return {"points": [{"lat": la, "lon": lo, "category": "theft"} for la, lo in points],
            "stations": [{"id": "S1", "lat": LAT, "lon": LON, "name_zh": "西湖所", "name_en": "West Lake"}]}


CALLS = [(LAT + 0.004, LON - 0.006), (LAT - 0.003, LON + 0.005), (LAT + 0.001, LON + 0.0012)]


def test_the_tiles_under_each_call_are_where_the_call_is_drawn(tiles: Path) -> None:
    fig = charts.incident_map(briefing(CALLS), "en", Basemap(open_tiles(tiles), "wgs84"))
    [img] = fig.layout.images
    assert (img.xref, img.yref, img.layer, img.sizing) == ("x", "y", "below", "stretch")
    picture = img.source
    assert isinstance(picture, str) and picture.startswith("data:image/png;base64,")
    stitched = Image.open(io.BytesIO(base64.b64decode(picture.split(",", 1)[1]))).convert("RGB")
    width, height = stitched.size
    assert max(width, height) <= 1600 + 512
    xs, ys = mercator(np.array([c[0] for c in CALLS]), np.array([c[1] for c in CALLS]))
    drawn = fig.data[0]
    assert np.allclose(drawn.x, xs) and np.allclose(drawn.y, ys)             # in Web Mercator metres
    zoom = round(math.log2(width / 256 * 2 * math.pi * 6_378_137.0 / img.sizex / 256) + 8)
    assert zoom in ZOOMS
    for (lat, lon), x, y in zip(CALLS, xs, ys, strict=True):
        px = int((x - img.x) / img.sizex * width)
        py = int((img.y - y) / img.sizey * height)
        assert stitched.getpixel((px, py)) == colour(zoom, *tile_of(lat, lon, zoom))
    west, east = fig.layout.xaxis.range
    south, north = fig.layout.yaxis.range
    assert img.x <= west < min(xs) and max(xs) < east <= img.x + img.sizex       # the calls, padded, all on streets
    assert img.y - img.sizey <= south < min(ys) and max(ys) < north <= img.y
    assert fig.layout.yaxis.scaleratio == 1
    assert "local test tiles" in fig.layout.annotations[0].text                  # the file's attribution


def test_on_gcj02_tiles_the_calls_are_moved_to_the_tiles_datum(tiles: Path) -> None:
    on_wgs = charts.incident_map(briefing(CALLS), "en", Basemap(open_tiles(tiles), "wgs84")).data[0]
    on_gcj = charts.incident_map(briefing(CALLS), "en", Basemap(open_tiles(tiles), "gcj02")).data[0]
    shift = np.hypot(np.array(on_gcj.x) - on_wgs.x, np.array(on_gcj.y) - on_wgs.y) * math.cos(math.radians(LAT))
    assert ((shift > 100) & (shift < 700)).all()                                 # GCJ-02's offset, in ground metres


def test_without_tiles_there_the_map_stays_on_plain_axes(tmp_path: Path, tiles: Path) -> None:
    plain = charts.incident_map(briefing(CALLS), "en")
    assert not plain.layout.images and list(plain.data[0].x) == [c[1] for c in CALLS]      # degrees
    far = briefing([(-33.86, 151.21)])                                         # Sydney: the file has nothing there
    elsewhere = charts.incident_map(far, "en", Basemap(open_tiles(tiles), "wgs84"))
    assert not elsewhere.layout.images and list(elsewhere.data[0].x) == [151.21]
    assert basemap_of(load_settings()) is None
    made = basemap_of(load_settings(tiles_mbtiles=tiles, tile_crs="gcj02"))
    assert made is not None and made.crs == "gcj02" and made.tiles is basemap_of(load_settings(tiles_mbtiles=tiles)).tiles


def test_the_exported_chart_shows_the_streets(tiles: Path) -> None:
    fig = charts.incident_map(briefing(CALLS), "en", Basemap(open_tiles(tiles), "wgs84"))
    png = Image.open(io.BytesIO(charts.images({"map": fig})["map"])).convert("RGB")
    colours = {colour(z, x, y) for z, x, y in xyz_tiles_around(LAT, LON, ZOOMS, reach=6)}
    w, h = png.size
    seen = [png.getpixel((int(w * fx), int(h * fy))) for fx in (0.3, 0.4, 0.5) for fy in (0.3, 0.5, 0.7)]
    assert sum(p in colours for p in seen) >= 5, seen                            # tile colours, not the blank plot


def test_a_damaged_tile_is_left_blank_and_the_map_still_comes(tmp_path: Path) -> None:
    good = {a: solid_png(colour(*a)) for a in xyz_tiles_around(LAT, LON, ZOOMS, reach=6)}
    used = {z for z, _, _ in good if z in ZOOMS}
    for zoom in used:                                   # whichever zoom is chosen, the first call's tile is damaged
        good[(zoom, *tile_of(*CALLS[0], zoom))] = b"\x89PNG not really"
    damaged = write_mbtiles(tmp_path / "damaged.mbtiles", good)
    fig = charts.incident_map(briefing(CALLS), "en", Basemap(open_tiles(damaged), "wgs84"))
    [img] = fig.layout.images
    stitched = Image.open(io.BytesIO(base64.b64decode(img.source.split(",", 1)[1]))).convert("RGB")
    px = int((fig.data[0].x[0] - img.x) / img.sizex * stitched.size[0])
    py = int((img.y - fig.data[0].y[0]) / img.sizey * stitched.size[1])
    assert stitched.getpixel((px, py)) == (0xF8, 0xFA, 0xFC)                      # blank where the tile is damaged
    nothing = write_mbtiles(tmp_path / "nothing.mbtiles", {a: b"junk" for a in good})
    assert not charts.incident_map(briefing(CALLS), "en", Basemap(open_tiles(nothing), "wgs84")).layout.images
