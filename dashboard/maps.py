"""Every map of the app as data: one frozen LayerConfig per layer, one MapConfig per map, and the
one factory of each (`create_layer`, `build_map`).

A layer is drawn by dash-leaflet from its GeoJSON `data` (pushed after first paint by the JS in
assets/js or set by a callback), or it is a LayerGroup whose content someone else draws: the
live units are thousands of persistent canvas markers moved by assets/js/20_live_units.js, the
dispatch map's selection is drawn by its callbacks. Every JS function a layer names lives in
assets/js/15_map_layers.js.

Positions reach the browser in what the tiles are drawn in (QZ_TILE_CRS: WGS-84, or GCJ-02/BD-09
for Chinese tiles) and only through the functions at the end of this module: `for_tiles` (GeoJSON),
`latlng_for_tiles`/`bounds_for_tiles` (a point, an image's corners), `marker` (the only place a
dash-leaflet marker is made) and `picked` (a click, back to WGS-84); the units' JSON rows go through
the core's `rows_to_tiles` in dashboard/live/api.py. The database stays WGS-84.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import dash_leaflet as dl
from dash.development.base_component import Component

from dashboard import ids
from dashboard.callbacks import js_ref
from dashboard.i18n import t
from qingzhi.config import Settings
from qingzhi.core.map_datum import geojson_to_tiles, point_from_tiles, point_to_tiles, rows_to_tiles, to_tiles

EMPTY_COLLECTION = {"type": "FeatureCollection", "features": []}
BLANK_IMAGE = "data:,"
NOWHERE = [[0, 0], [0, 0]]  # bounds of an image overlay that shows nothing yet


@dataclass(frozen=True)
class LayerConfig:
    """One map layer: its id, how it is drawn, and how (if at all) it appears in the layer control."""

    name: str                           # key of its data (overlays payload, initial data)
    layer_id: str                       # Dash id (dashboard/ids.py)
    kind: Literal["geojson", "group", "image"] = "geojson"
    label_key: str | None = None        # i18n name in the layer control; None: always on, not listed
    style: str | None = None            # JS style(feature) for lines and polygons
    point_to_layer: str | None = None   # JS pointToLayer(feature, latlng) for points
    on_each_feature: str | None = None  # JS onEachFeature(feature, layer): tooltips
    interactive: bool = True            # False: clicks and hovers go through to the map
    checked: bool = True                # shown at first (layer control)
    opacity: float = 1.0                # image overlays


@dataclass(frozen=True)
class MapConfig:
    """One map: its id, layers (bottom to top) and the controls it shows."""

    map_id: str
    layers: tuple[LayerConfig, ...]
    css: str
    zoom: int = 12
    layer_control: bool = False         # the labelled layers can be switched on and off
    zoom_control: bool = True
    zoom_snap: float = 1
    track_viewport: bool = True         # False: the viewport is read by JS, not sent to Dash on every pan


LIVE_LAYERS: tuple[LayerConfig, ...] = (
    LayerConfig("trail", ids.LIVE_TRAIL, style="liveTrailStyle", interactive=False),
    LayerConfig("jurisdictions", ids.live_layer("jurisdictions"), label_key="live.layer.jurisdictions",
                style="liveJurisdictionStyle", on_each_feature="liveAreaLabel"),
    LayerConfig("zones", ids.live_layer("zones"), label_key="live.layer.zones", style="liveZoneStyle",
                on_each_feature="liveAreaLabel"),
    LayerConfig("grids", ids.live_layer("grids"), label_key="live.layer.grids", style="liveGridStyle",
                on_each_feature="liveGridLabel"),
    LayerConfig("incidents", ids.live_layer("incidents"), label_key="live.layer.incidents",
                point_to_layer="liveIncidentMarker", on_each_feature="liveIncidentTooltip"),
    LayerConfig("units", ids.live_layer("units"), kind="group", label_key="live.layer.units"),
)
DISPATCH_LAYERS: tuple[LayerConfig, ...] = (
    # outlines for orientation, also where no tile server can be reached
    LayerConfig("zones", ids.DISPATCH_ZONES, style="outlineZoneStyle", interactive=False),
    LayerConfig("jurisdictions", ids.DISPATCH_JURISDICTIONS, style="outlineJurisdictionStyle", interactive=False),
    LayerConfig("selection", ids.DISPATCH_MAP_LAYER, kind="group"),  # the incident, its units, the candidates
    LayerConfig("pin", ids.DISPATCH_PIN, kind="group"),  # where the new incident being entered is
)
ANALYSIS_LAYERS: tuple[LayerConfig, ...] = (
    LayerConfig("kde", ids.AN_KDE, kind="image", opacity=0.75),
    LayerConfig("hex", ids.AN_HEX, style="hexStyle"),
    LayerConfig("gi", ids.AN_GI, style="giStyle", interactive=False),
)
PLAYBACK_LAYERS: tuple[LayerConfig, ...] = (
    LayerConfig("stops", ids.PB_STOP_LAYER, point_to_layer="playbackStop", on_each_feature="playbackTooltip"),
    LayerConfig("incidents", ids.PB_INCIDENT_LAYER, point_to_layer="playbackIncident",
                on_each_feature="playbackTooltip"),
    LayerConfig("units", ids.PB_UNIT_LAYER, point_to_layer="playbackUnit", on_each_feature="playbackTooltip"),
)
DUTY_LAYERS: tuple[LayerConfig, ...] = (
    LayerConfig("zones", ids.DUTY_ZONES, style="liveZoneStyle", on_each_feature="liveAreaLabel"),
    LayerConfig("moves", ids.DUTY_MOVES_LAYER, style="dutyMoveStyle", on_each_feature="dutyMoveTooltip"),
)
LAYER_CONFIGS: tuple[LayerConfig, ...] = (LIVE_LAYERS + DISPATCH_LAYERS + ANALYSIS_LAYERS + PLAYBACK_LAYERS
                                          + DUTY_LAYERS)

LIVE_MAP = MapConfig(ids.LIVE_MAP, LIVE_LAYERS, css="qz-live-map", layer_control=True, track_viewport=False)
WALL_MAP = replace(LIVE_MAP, layer_control=False, zoom_control=False,
                   zoom_snap=0.25)  # no controls; the district fits as tightly as it can
DISPATCH_MAP = MapConfig(ids.DISPATCH_MAP, DISPATCH_LAYERS, css="dp-map", zoom=13)
ANALYSIS_MAP = MapConfig(ids.AN_MAP, ANALYSIS_LAYERS, css="an-map")
PLAYBACK_MAP = MapConfig(ids.PB_MAP, PLAYBACK_LAYERS, css="pb-map")
DUTY_MAP = MapConfig(ids.DUTY_MAP, DUTY_LAYERS, css="duty-map", zoom=13)


def create_layer(config: LayerConfig, data: dict[str, Any] | None = None) -> Component:
    """The dash-leaflet component of one layer (GeoJSON with `data`, else empty until it arrives)."""
    if config.kind == "group":
        return dl.LayerGroup(id=config.layer_id)
    if config.kind == "image":
        return dl.ImageOverlay(id=config.layer_id, url=BLANK_IMAGE, bounds=NOWHERE, opacity=config.opacity)
    functions = {"style": config.style, "pointToLayer": config.point_to_layer, "onEachFeature": config.on_each_feature}
    return dl.GeoJSON(
        id=config.layer_id,
        data=data or EMPTY_COLLECTION,
        interactive=config.interactive,
        **{prop: js_ref(fn) for prop, fn in functions.items() if fn},
    )


def build_map(*, config: MapConfig, settings: Settings, lang: str,
              data: Mapping[str, dict[str, Any]] | None = None) -> dl.Map:
    """A map: the configured tiles over a plain background, its layers (with their `data` by
    layer name, if given now), the layer control if it has one, and a metric scale."""
    data = data or {}
    plain = [c for c in config.layers if not (config.layer_control and c.label_key)]
    children: list[Component] = [
        dl.TileLayer(url=settings.tile_url, attribution=settings.tile_attribution, maxZoom=19),
        *(create_layer(c, for_tiles(data.get(c.name), settings)) for c in plain),
    ]
    if config.layer_control:
        overlays = [dl.Overlay(create_layer(c, for_tiles(data.get(c.name), settings)), name=t(c.label_key, lang),
                               checked=c.checked)
                    for c in config.layers if c.label_key]
        # `overlays` must be given: dash-leaflet 1.1.3's overlayremove handler filters it and
        # throws when it is undefined, which also stops Leaflet's other listeners.
        children.append(dl.LayersControl(overlays, id=ids.layers_control(config.map_id), position="topleft",
                                         collapsed=False, overlays=[o.name for o in overlays if o.checked]))
    children.append(dl.ScaleControl(position="bottomleft", imperial=False))
    return dl.Map(
        children,
        id=config.map_id,
        center=latlng_for_tiles(*settings.center_latlon, settings),
        zoom=config.zoom,
        preferCanvas=True,
        trackViewport=config.track_viewport,
        zoomControl=config.zoom_control,
        zoomSnap=config.zoom_snap,
        className=config.css,
    )


def for_tiles(geojson: dict[str, Any] | None, settings: Settings) -> dict[str, Any] | None:
    """A layer's GeoJSON (WGS-84, as stored) with its positions as drawn on the configured tiles."""
    return None if geojson is None else geojson_to_tiles(geojson, settings.tile_crs)


def rows_for_tiles(rows_json: str, lat_at: int, lon_at: int, settings: Settings) -> str:
    """JSON rows (lists, as PostgreSQL built them) with the position at `lat_at`/`lon_at` as drawn on
    the configured tiles. WGS-84 tiles pass the text through untouched (no parsing on the hot path)."""
    if settings.tile_crs == "wgs84":
        return rows_json
    return json.dumps(rows_to_tiles(json.loads(rows_json), lat_at, lon_at, settings.tile_crs), separators=(",", ":"))


def arrays_for_tiles(lat: list[float], lon: list[float], settings: Settings) -> tuple[list[float], list[float]]:
    """Parallel lists of WGS-84 latitudes and longitudes (a playback track) as drawn on the tiles."""
    if settings.tile_crs == "wgs84" or not lat:
        return lat, lon
    tlat, tlon = to_tiles(lat, lon, settings.tile_crs)
    return [float(v) for v in tlat], [float(v) for v in tlon]


def latlng_for_tiles(lat: float, lon: float, settings: Settings) -> list[float]:
    """A WGS-84 point as the [lat, lon] Leaflet draws on the configured tiles."""
    return list(point_to_tiles(lat, lon, settings.tile_crs))


def bounds_for_tiles(bounds: list[list[float]], settings: Settings) -> list[list[float]]:
    """An image overlay's [[south, west], [north, east]] on the configured tiles. The corners move
    with the local offset; across a city it changes by a few metres, so the image stays in place."""
    return [latlng_for_tiles(lat, lon, settings) for lat, lon in bounds]


def marker(lat: float, lon: float, settings: Settings, **options: Any) -> dl.CircleMarker:
    """A circle marker at a WGS-84 point, drawn where the configured tiles have it."""
    return dl.CircleMarker(center=latlng_for_tiles(lat, lon, settings), **options)


def picked(latlng: Any, settings: Settings) -> tuple[float, float] | None:
    """A map click's Leaflet latlng ({"lat", "lng"}, on the configured tiles) as WGS-84 (lat, lon);
    None for anything that is not a place on Earth (the browser's data is the browser's to forge)."""
    try:
        lat, lon = float(latlng["lat"]), float(latlng["lng"])
    except (TypeError, KeyError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return point_from_tiles(lat, lon, settings.tile_crs)
