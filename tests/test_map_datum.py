"""WGS-84 ↔ GCJ-02 / BD-09 (qingzhi/core/map_datum.py) against published reference points, and
round trips within centimetres (no database, no browser)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qingzhi.core.map_datum import (
    from_tiles, geojson_to_tiles, point_from_tiles, point_to_tiles, rows_to_tiles, to_tiles,
)

# WGS-84 → GCJ-02 pairs published with eviltransform (googollee/eviltransform's tests, also in
# its PHP and Go ports): (wgs lat, wgs lon, gcj lat, gcj lon).
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),     # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),     # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),     # Beijing
]
# wandergis/coordtransform's README/test (Tiananmen, 116.404 E 39.915 N): WGS-84 → GCJ-02 and
# GCJ-02 → BD-09 of the same point.
TIANANMEN = (39.915, 116.404)
TIANANMEN_GCJ = (39.91640428150164, 116.41024449916938)
TIANANMEN_GCJ_AS_BD = (39.92133699351021, 116.41036949371029)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance between two nearby (lat, lon) points in metres (equirectangular; exact enough here)."""
    dy = (a[0] - b[0]) * 110_574
    dx = (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM)
def test_gcj02_matches_published_reference_points(wlat: float, wlon: float, glat: float, glon: float) -> None:
    got = point_to_tiles(wlat, wlon, "gcj02")
    assert metres(got, (glat, glon)) < 0.001
    assert 100 < metres(got, (wlat, wlon)) < 700   # the offset the issue describes: the wrong street
    back = point_from_tiles(glat, glon, "gcj02")
    assert metres(back, (wlat, wlon)) < 0.01        # the published GCJ point comes back within a centimetre


def test_tiananmen_gcj02_and_bd09() -> None:
    assert metres(point_to_tiles(*TIANANMEN, "gcj02"), TIANANMEN_GCJ) < 0.001
    # BD-09 is GCJ-02 shifted again: the WGS point whose GCJ-02 is Tiananmen has the published BD-09 of it
    wgs = point_from_tiles(*TIANANMEN, "gcj02")
    assert metres(point_to_tiles(*wgs, "bd09"), TIANANMEN_GCJ_AS_BD) < 0.001
    assert 900 < metres(point_to_tiles(*TIANANMEN, "bd09"), TIANANMEN) < 1500


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_round_trips_within_centimetres_over_china(crs: str) -> None:
    rng = np.random.default_rng(16)
    lat, lon = rng.uniform(18.2, 53.5, 20_000), rng.uniform(73.7, 135.0, 20_000)
    tlat, tlon = to_tiles(lat, lon, crs)
    assert np.all(np.hypot(tlat - lat, tlon - lon) > 1e-4)   # every point in China is moved
    blat, blon = from_tiles(tlat, tlon, crs)
    err_m = np.hypot((blat - lat) * 110_574, (blon - lon) * 111_320 * np.cos(np.radians(lat)))
    assert err_m.max() < 0.01


def test_wgs84_is_the_identity_and_gcj02_stops_at_the_border() -> None:
    assert point_to_tiles(30.2741, 120.1551, "wgs84") == (30.2741, 120.1551)
    assert point_from_tiles(30.2741, 120.1551, "wgs84") == (30.2741, 120.1551)
    assert point_to_tiles(51.5074, -0.1278, "gcj02") == (51.5074, -0.1278)   # London: not offset
    assert point_from_tiles(51.5074, -0.1278, "gcj02") == (51.5074, -0.1278)
    with pytest.raises(ValueError, match="unknown tile CRS"):
        to_tiles(30.0, 120.0, "mars")


def test_geojson_every_geometry_converted_input_untouched() -> None:
    ring = [[120.1, 30.2], [120.2, 30.2], [120.2, 30.3], [120.1, 30.2]]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.15, 30.25]}, "properties": {"id": "a"}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": {"id": "b"}},
        {"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": [ring[:2], ring[2:]]}, "properties": {}},
        {"type": "Feature", "geometry": None, "properties": {"id": "no geometry"}},
        {"type": "Feature", "geometry": {"type": "GeometryCollection", "geometries": [
            {"type": "Point", "coordinates": [120.12, 30.22, 15.0]}]}, "properties": {}},
    ]}
    before = repr(fc)
    got = geojson_to_tiles(fc, "gcj02")
    assert repr(fc) == before                       # cached payloads are not changed
    point = got["features"][0]["geometry"]["coordinates"]
    assert metres((point[1], point[0]), point_to_tiles(30.25, 120.15, "gcj02")) < 0.02
    poly = got["features"][1]["geometry"]["coordinates"][0]
    assert len(poly) == 4 and poly[0] == poly[-1]   # the ring stays closed
    assert [metres((p[1], p[0]), point_to_tiles(q[1], q[0], "gcj02")) < 0.02 for p, q in zip(poly, ring)] == [True] * 4
    assert got["features"][3]["geometry"] is None and got["features"][0]["properties"] == {"id": "a"}
    assert got["features"][4]["geometry"]["geometries"][0]["coordinates"][2] == 15.0  # height kept
    assert geojson_to_tiles(fc, "wgs84") is fc


def test_rows_keep_units_without_a_fix() -> None:
    rows = [["u1", "car", 30.25, 120.15, 90], ["u2", "foot", None, None, None]]
    got = rows_to_tiles(rows, 2, 3, "bd09")
    assert got[1] == rows[1] and got[0][:2] == ["u1", "car"] and got[0][4] == 90
    assert metres((got[0][2], got[0][3]), point_to_tiles(30.25, 120.15, "bd09")) < 0.02
    assert rows[0][2] == 30.25                       # input not changed
    assert rows_to_tiles(rows, 2, 3, "wgs84") is rows
