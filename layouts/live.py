"""The live force map (`/`): every on-duty unit on the map, counts, alert feed, unit details.

Its callbacks are dashboard/live/callbacks.py; the map is kept up to date by assets/js
(see dashboard/live/api.py for why).
"""

from __future__ import annotations

from typing import Any

from dash import html, register_page

from dashboard import ids
from dashboard.cameras.api import config_json
from dashboard.cameras.components import build_camera_config
from dashboard.context import ctx
from dashboard.live import queries as data
from dashboard.i18n import lang_of, t
from dashboard.live.api import client_config
from dashboard.live.components import (
    build_alert_panel, build_banner, build_count_tiles, build_filters, build_legend, build_live_stores,
    build_unit_details,
)
from dashboard.maps import LIVE_MAP, build_map
from dashboard.shell import page_title

register_page(__name__, path="/", title=page_title("nav.live"), name="live", order=0, nav="nav.live")


def layout(lang: str | None = None, **_: Any) -> html.Div:
    """Map on the left, side panel (filters, counts, alerts, details, legend) on the right."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    stations = app.db.run(data.stations)
    return html.Div(
        [
            *build_live_stores(config=client_config(app.settings, lang=lang, wall=False)),
            html.Div([build_map(config=LIVE_MAP, settings=app.settings, lang=lang), build_banner()],
                     className="qz-live-mapbox"),
            html.Aside(
                [
                    build_filters(stations=stations, lang=lang),
                    build_count_tiles(lang=lang),
                    build_alert_panel(lang=lang),
                    html.Div([html.Div(t("live.details", lang), className="qz-panel-title"),
                              html.Div(build_unit_details(unit=None, unit_id=None, trail_n=0, lang=lang,
                                                          tz=app.settings.timezone), id=ids.LIVE_DETAILS)],
                             className="qz-details"),
                    build_legend(lang=lang),
                ],
                className="qz-side",
            ),
            build_camera_config(config_json=config_json(app.settings, lang=lang)),
        ],
        className="qz-live",
    )
