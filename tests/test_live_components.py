"""Component trees of the live map factories and layer configs (no browser, no database)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import dash_leaflet as dl
import pytest
from dash import html

from dashboard import ids
from dashboard.components import build_alert_item, build_count_tiles, build_live_map, build_unit_details, fmt_time
from dashboard.i18n import STRINGS
from dashboard.layers import LAYER_CONFIGS, LayerConfig, create_geojson_layer
from qingzhi.config import load_settings

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "js"


def walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and hasattr(child, "to_plotly_json"):
            yield from walk(child)


def test_map_uses_configured_tiles_canvas_and_every_layer():
    settings = load_settings(tile_url="http://tiles.local/{z}/{x}/{y}.png", tile_attribution="PGIS 局内", center="31.0,121.0")
    m = build_live_map(settings=settings, lang="zh")
    assert m.preferCanvas is True and m.center == [31.0, 121.0] and m.trackViewport is False
    tree = list(walk(m))
    tile = next(c for c in tree if isinstance(c, dl.TileLayer))
    assert tile.url == "http://tiles.local/{z}/{x}/{y}.png" and tile.attribution == "PGIS 局内"
    overlays = [c for c in tree if isinstance(c, dl.Overlay)]
    assert [o.name for o in overlays] == ["派出所辖区", "巡区（警戒等级）", "未结警情", "警力"]
    assert {o.children.id for o in overlays} == {ids.live_layer(c.name) for c in LAYER_CONFIGS}
    wall = build_live_map(settings=settings, lang="en", controls=False)
    assert not any(isinstance(c, (dl.LayersControl, dl.Overlay)) for c in walk(wall))
    assert sum(isinstance(c, dl.GeoJSON) for c in walk(wall)) == 3


def test_geojson_layers_reference_functions_that_exist_in_assets():
    source = "".join(p.read_text() for p in ASSETS.glob("*.js"))
    for config in LAYER_CONFIGS:
        layer = create_geojson_layer(config)
        if config.drawn_by_js:
            assert isinstance(layer, dl.LayerGroup)
            continue
        assert isinstance(layer, dl.GeoJSON) and layer.data["features"] == []
        for prop in ("style", "pointToLayer", "onEachFeature"):
            ref = getattr(layer, prop, None)
            if ref:
                name = ref["variable"].rsplit(".", 1)[1]
                assert ref["variable"] == f"dash_clientside.qz.{name}" and f"{name}: function" in source


def test_layer_config_is_frozen():
    with pytest.raises(AttributeError):
        LAYER_CONFIGS[0].checked = False  # type: ignore[misc]
    assert isinstance(LAYER_CONFIGS[0], LayerConfig)


def test_sos_alert_flashes_and_acked_alert_shows_who():
    ts = datetime(2026, 11, 22, 1, 2, 3, tzinfo=timezone.utc)
    sos = build_alert_item(alert={"id": 7, "ts": ts, "kind": "sos", "severity": 1, "subject": "A1", "unit": "A1",
                                  "station": "ST01", "acked_at": None, "acked_by": None}, lang="zh",
                           tz="Asia/Shanghai", ackable=True)
    assert "qz-flash" in sos.className and sos.to_plotly_json()["props"]["data-unit"] == "A1"
    button = next(c for c in walk(sos) if isinstance(c, html.Button))
    assert button.id == ids.live_ack(7) and button.children == "确认"
    acked = build_alert_item(alert={"id": 8, "ts": ts, "kind": "cam_recording", "severity": 3, "subject": "A2",
                                    "unit": "A2", "station": "ST01", "acked_at": ts, "acked_by": "张三"},
                             lang="en", tz="Asia/Shanghai", ackable=True)
    assert "acked" in acked.className and not any(isinstance(c, html.Button) for c in walk(acked))
    assert any(getattr(c, "children", None) == "Acknowledged by 张三 at 09:02:03" for c in walk(acked))


def test_times_are_shown_in_the_configured_zone():
    ts = datetime(2026, 11, 22, 23, 30, 0, tzinfo=timezone.utc)
    assert fmt_time(ts, "Asia/Shanghai") == "07:30:00"
    assert fmt_time(ts, "Europe/London", with_date=True) == "11-22 23:30:00"
    assert fmt_time(None, "Asia/Shanghai") == "—"


def test_counts_and_details_have_every_label_in_both_languages():
    for lang in ("zh", "en"):
        text = str(build_count_tiles(lang=lang).to_plotly_json())
        assert "⟦" not in text
        details = build_unit_details(unit=None, unit_id=None, trail_n=0, lang=lang, tz="Asia/Shanghai")
        assert "⟦" not in str(details[0].to_plotly_json())
    live_keys = [k for k in STRINGS if k.startswith("live.")]
    assert all(STRINGS[k][0] and STRINGS[k][1] for k in live_keys)
