"""The wall screen (`/wall`): the map fills the screen, counts, alerts and a strip of the newest
body-camera streams (SOS and on-scene units first, assets/js/62_camera_strips.js) float over it.

No controls: it is watched from across the room and runs for days. Everything moving is
driven by the same JS as the live page (config `wall: true`: larger markers, no selection).
"""

from __future__ import annotations

from typing import Any

from dash import html, register_page

from dashboard import ids
from dashboard.cameras.api import config_json
from dashboard.cameras.components import build_camera_config, build_camera_strip
from dashboard.context import ctx
from dashboard.duty.wall import build_wall_strip
from dashboard.i18n import lang_of, t
from dashboard.live.api import client_config
from dashboard.live.components import (
    build_alert_panel, build_banner, build_count_tiles, build_legend, build_live_stores,
)
from dashboard.maps import WALL_MAP, build_map
from dashboard.shell import page_title

register_page(__name__, path="/wall", title=page_title("nav.wall"),
              name="wall", order=3, nav="nav.wall", headerless=True)


def layout(lang: str | None = None, station: str | None = None, **_: Any) -> html.Div:
    """Full-screen dark map with overlays (`?station=ID`: one station's own wall)."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    return html.Div(
        [
            *build_live_stores(config=client_config(app.settings, lang=lang, wall=True, station=station),
                              selectable=False),
            build_map(config=WALL_MAP, settings=app.settings, lang=lang),
            html.Div([html.Div(t("live.wall_title", lang), className="qz-wall-title"),
                      html.Div(id=ids.LIVE_CLOCK, className="qz-wall-clock")], className="qz-wall-head"),
            html.Div([build_count_tiles(lang=lang, compact=True), build_wall_strip(), build_alert_panel(lang=lang),
                      build_legend(lang=lang)], className="qz-wall-side"),
            build_camera_strip(strip_id=ids.WALL_CAMERAS, mode="wall", lang=lang, station=station),
            build_camera_config(config_json=config_json(app.settings, lang=lang)),
            build_banner(),
        ],
        className="qz-wall",
    )
