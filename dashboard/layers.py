"""Map layers as data: one frozen LayerConfig per layer, one factory that builds any of them.

The GeoJSON layers (jurisdictions, zones, incidents) are small and change rarely; their data
is pushed into the dl.GeoJSON by assets/js/30_live_stream.js only when it changed. The units
layer is different: thousands of markers that move every second are drawn by hand-written
JS on persistent canvas markers (assets/js/20_live_units.js), so its entry only reserves a
place in the layer control.
"""

from __future__ import annotations

from dataclasses import dataclass

import dash_leaflet as dl

from dashboard import ids
from dashboard.i18n import t

JS_NAMESPACE = "dash_clientside.qz"
EMPTY_COLLECTION = {"type": "FeatureCollection", "features": []}


def js_ref(name: str) -> dict[str, str]:
    """A reference dash-leaflet resolves to the function `window.dash_clientside.qz[name]`."""
    return {"variable": f"{JS_NAMESPACE}.{name}"}


@dataclass(frozen=True)
class LayerConfig:
    """One map layer: how it is labelled, drawn and whether it starts visible."""

    name: str                           # id suffix and key in the overlays payload
    label_key: str                      # i18n key of its name in the layer control
    style: str | None = None            # JS style(feature) for polygons
    point_to_layer: str | None = None   # JS pointToLayer(feature, latlng) for points
    on_each_feature: str | None = None  # JS onEachFeature(feature, layer): tooltips
    checked: bool = True
    drawn_by_js: bool = False           # markers managed by assets/js, not by dl.GeoJSON


LAYER_CONFIGS: tuple[LayerConfig, ...] = (
    LayerConfig("jurisdictions", "live.layer.jurisdictions", style="liveJurisdictionStyle",
                on_each_feature="liveAreaLabel"),
    LayerConfig("zones", "live.layer.zones", style="liveZoneStyle", on_each_feature="liveAreaLabel"),
    LayerConfig("incidents", "live.layer.incidents", point_to_layer="liveIncidentMarker",
                on_each_feature="liveIncidentTooltip"),
    LayerConfig("units", "live.layer.units", drawn_by_js=True),
)


def create_geojson_layer(config: LayerConfig) -> dl.GeoJSON | dl.LayerGroup:
    """The dash-leaflet component of one layer (empty: its data arrives after first paint)."""
    if config.drawn_by_js:
        return dl.LayerGroup(id=ids.live_layer(config.name))
    options = {
        "style": config.style,
        "pointToLayer": config.point_to_layer,
        "onEachFeature": config.on_each_feature,
    }
    return dl.GeoJSON(
        id=ids.live_layer(config.name),
        data=EMPTY_COLLECTION,
        **{key: js_ref(fn) for key, fn in options.items() if fn},
    )


def create_layer_overlays(lang: str) -> list[dl.Overlay]:
    """Every layer wrapped for the layer control, labelled in `lang`."""
    return [
        dl.Overlay(create_geojson_layer(c), name=t(c.label_key, lang), checked=c.checked)
        for c in LAYER_CONFIGS
    ]
