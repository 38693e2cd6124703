"""Component trees of the one map builder and the layer configs of every map (no browser, no database)."""

from __future__ import annotations

from pathlib import Path

import dash_leaflet as dl
import pytest

from dashboard import ids
from dashboard.maps import (
    ANALYSIS_MAP, DISPATCH_MAP, LAYER_CONFIGS, LIVE_LAYERS, LIVE_MAP, WALL_MAP, LayerConfig, build_map, create_layer,
)
from qingzhi.config import load_settings
from tree_helpers import walk

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "js"
SETTINGS = load_settings(tile_url="http://tiles.local/{z}/{x}/{y}.png", tile_attribution="PGIS 局内", center="31.0,121.0")


def layer_ids(m: dl.Map) -> list[str]:
    """Ids of the map's layers, bottom to top."""
    return [c.id for c in walk(m) if isinstance(c, (dl.GeoJSON, dl.LayerGroup, dl.ImageOverlay))]


def test_map_uses_configured_tiles_canvas_and_every_layer():
    m = build_map(config=LIVE_MAP, settings=SETTINGS, lang="zh")
    assert m.id == ids.LIVE_MAP and m.preferCanvas is True and m.center == [31.0, 121.0] and m.trackViewport is False
    tree = list(walk(m))
    tile = next(c for c in tree if isinstance(c, dl.TileLayer))
    assert tile.url == "http://tiles.local/{z}/{x}/{y}.png" and tile.attribution == "PGIS 局内"
    overlays = [c for c in tree if isinstance(c, dl.Overlay)]
    assert [o.name for o in overlays] == ["派出所辖区", "巡区（警戒等级）", "社区网格（责任民警）", "未结警情", "警力"]
    assert [o.children.id for o in overlays] == [ids.live_layer(n) for n in ("jurisdictions", "zones", "grids", "incidents", "units")]
    control = next(c for c in tree if isinstance(c, dl.LayersControl))
    assert control.id == ids.layers_control(ids.LIVE_MAP) and control.overlays == [o.name for o in overlays]
    assert layer_ids(m)[0] == ids.LIVE_TRAIL  # the trail is always on, outside the layer control
    wall = build_map(config=WALL_MAP, settings=SETTINGS, lang="en")
    assert not any(isinstance(c, (dl.LayersControl, dl.Overlay)) for c in walk(wall))
    assert wall.zoomControl is False and wall.zoomSnap == 0.25
    assert layer_ids(wall) == [c.layer_id for c in LIVE_LAYERS]
    assert sum(isinstance(c, dl.GeoJSON) for c in walk(wall)) == 5  # trail, jurisdictions, zones, grids, incidents


def test_dispatch_map_draws_outlines_given_now_under_the_selection():
    zones = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None, "properties": {"id": "Z1"}}]}
    m = build_map(config=DISPATCH_MAP, settings=SETTINGS, lang="zh", data={"zones": zones})
    assert m.id == ids.DISPATCH_MAP and m.zoom == 13 and m.className == "dp-map"
    assert layer_ids(m) == [ids.DISPATCH_ZONES, ids.DISPATCH_JURISDICTIONS, ids.DISPATCH_MAP_LAYER, ids.DISPATCH_PIN]
    outlines = [c for c in walk(m) if isinstance(c, dl.GeoJSON)]
    assert outlines[0].data == zones and outlines[1].data["features"] == []
    assert all(o.interactive is False for o in outlines)  # a click on the map sets a new incident's place
    assert outlines[0].style == {"variable": "dash_clientside.qz.outlineZoneStyle"}


def test_analysis_map_has_heat_image_under_hexagons_and_hot_spots():
    m = build_map(config=ANALYSIS_MAP, settings=SETTINGS, lang="en")
    assert m.id == ids.AN_MAP and m.trackViewport is True  # its zoom picks the cell size
    assert layer_ids(m) == [ids.AN_KDE, ids.AN_HEX, ids.AN_GI]
    image = next(c for c in walk(m) if isinstance(c, dl.ImageOverlay))
    assert image.opacity == 0.75 and image.url == "data:,"
    hexes, hot = [c for c in walk(m) if isinstance(c, dl.GeoJSON)]
    assert hexes.interactive is True and hot.interactive is False  # cells are clicked, outlines are not


def test_every_map_is_built_the_same_way():
    for config in (LIVE_MAP, WALL_MAP, DISPATCH_MAP, ANALYSIS_MAP):
        m = build_map(config=config, settings=SETTINGS, lang="zh")
        first, last = m.children[0], m.children[-1]
        assert isinstance(first, dl.TileLayer) and first.maxZoom == 19 and isinstance(last, dl.ScaleControl)
        assert last.imperial is False and m.preferCanvas is True


def test_layers_reference_functions_that_exist_in_assets():
    source = "".join(p.read_text() for p in ASSETS.glob("*.js"))
    assert len({c.layer_id for c in LAYER_CONFIGS}) == len(LAYER_CONFIGS)
    for config in LAYER_CONFIGS:
        layer = create_layer(config)
        assert layer.id == config.layer_id
        if config.kind == "group":
            assert isinstance(layer, dl.LayerGroup)
            continue
        if config.kind == "image":
            assert isinstance(layer, dl.ImageOverlay)
            continue
        assert isinstance(layer, dl.GeoJSON) and layer.data["features"] == []
        refs = [getattr(layer, prop, None) for prop in ("style", "pointToLayer", "onEachFeature")]
        assert any(refs), f"{config.name}: a GeoJSON layer drawn with Leaflet's defaults"
        for ref in filter(None, refs):
            name = ref["variable"].rsplit(".", 1)[1]
            assert ref["variable"] == f"dash_clientside.qz.{name}" and f"{name}: function" in source


def test_layer_config_is_frozen():
    with pytest.raises(AttributeError):
        LAYER_CONFIGS[0].checked = False  # type: ignore[misc]
    assert isinstance(LAYER_CONFIGS[0], LayerConfig)


DRAWING = ("CircleMarker(", "Marker(", "Polyline(", "Polygon(", "Circle(", "Rectangle(", "ImageOverlay(", "GeoJSON(",
           "Map(", "Tooltip(")
ROOT = Path(__file__).resolve().parent.parent


def test_positions_reach_the_browser_only_through_maps_py():
    """Every dash-leaflet layer or map that takes a position is made in dashboard/maps.py, where the
    QZ_TILE_CRS conversion is (a Tooltip takes none: it may be made anywhere)."""
    offenders = []
    for path in [*(ROOT / "dashboard").rglob("*.py"), *(ROOT / "layouts").rglob("*.py")]:
        if path.name == "maps.py":
            continue
        text = path.read_text()
        offenders += [f"{path.relative_to(ROOT)}: dl.{d}" for d in DRAWING if d != "Tooltip(" and f"dl.{d}" in text]
    assert offenders == []


def test_map_centre_and_initial_layers_drawn_on_the_configured_tiles():
    gcj = SETTINGS.model_copy(update={"tile_crs": "gcj02"})
    zones = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "Z1"},
                                                         "geometry": {"type": "Point", "coordinates": [121.0, 31.0]}}]}
    m = build_map(config=DISPATCH_MAP, settings=gcj, lang="zh", data={"zones": zones})
    assert m.center != [31.0, 121.0] and abs(m.center[0] - 31.0) < 0.01 and abs(m.center[1] - 121.0) < 0.01
    drawn = next(c for c in walk(m) if isinstance(c, dl.GeoJSON)).data["features"][0]["geometry"]["coordinates"]
    assert drawn == [round(m.center[1], 7), round(m.center[0], 7)]       # the same point, the same shift
    assert zones["features"][0]["geometry"]["coordinates"] == [121.0, 31.0]  # the stored payload is not changed


def test_a_click_comes_back_in_wgs84_and_forged_clicks_are_nothing():
    from dashboard.maps import latlng_for_tiles, picked

    gcj = SETTINGS.model_copy(update={"tile_crs": "gcj02"})
    lat, lng = latlng_for_tiles(30.2741, 120.1551, gcj)
    back = picked({"lat": lat, "lng": lng}, gcj)
    assert back is not None and abs(back[0] - 30.2741) < 1e-9 and abs(back[1] - 120.1551) < 1e-9
    assert picked({"lat": 30.2741, "lng": 120.1551}, SETTINGS) == (30.2741, 120.1551)
    for forged in (None, [], "x", {"lat": "abc", "lng": 1}, {"lat": 1}, {"lat": float("nan"), "lng": 120},
                   {"lat": 91, "lng": 120}, {"lat": 30, "lng": 1e308 * 10}, {"lat": [1], "lng": 2}):
        assert picked(forged, gcj) is None, forged
