"""The live force map (`/`): every on-duty unit on the map, counts, alert feed, unit details.

The map itself is kept up to date by assets/js (see dashboard/live_api.py for why); the
callbacks here handle what the commander does: filter, search, click a unit, acknowledge.
"""

from __future__ import annotations

from typing import Any

from dash import (
    MATCH, ClientsideFunction, Input, Output, State, callback, clientside_callback, html, no_update, register_page,
)

from dashboard import ids
from dashboard.components import (
    build_alert_panel, build_banner, build_count_tiles, build_filters, build_legend, build_live_map,
    build_live_stores, build_unit_details, fmt_time,
)
from dashboard.context import ctx
from dashboard.data import live as data
from dashboard.i18n import lang_of, t
from dashboard.live_api import client_config
from qingzhi.core import alerts
from qingzhi.core.actor import Actor

register_page(__name__, path="/", title="实时警力 · qingzhi", name="live")


def layout(lang: str | None = None, **_: Any) -> html.Div:
    """Map on the left, side panel (filters, counts, alerts, details, legend) on the right."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    stations = app.db.run(data.stations)
    return html.Div(
        [
            *build_live_stores(config=client_config(app.settings, lang=lang, wall=False)),
            html.Div([build_live_map(settings=app.settings, lang=lang), build_banner()], className="qz-live-mapbox"),
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
        ],
        className="qz-live",
    )


clientside_callback(
    ClientsideFunction("qz", "liveStart"),
    Output(ids.LIVE_STARTED, "children"),
    Input(ids.LIVE_CONFIG, "data"),
)

clientside_callback(
    ClientsideFunction("qz", "liveFilter"),
    Output(ids.LIVE_STARTED, "title"),
    Input(ids.LIVE_STATION, "value"),
    Input(ids.LIVE_OPTIONS, "value"),
)

clientside_callback(
    ClientsideFunction("qz", "liveSearch"),
    Output(ids.LIVE_SEARCH_MSG, "children"),
    Input(ids.LIVE_SEARCH, "value"),
    prevent_initial_call=True,
)


@callback(
    Output(ids.LIVE_DETAILS, "children"),
    Output(ids.LIVE_TRAIL, "positions"),
    Input(ids.LIVE_SELECTED, "data"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def show_unit(unit_id: str | None, lang: str | None) -> tuple[list, list]:
    """Details and 30-minute trail of the unit clicked on the map (or found by search)."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    unit = app.db.run(data.unit_details, unit_id) if unit_id else None
    trail = app.db.run(data.trail, unit_id, 30) if unit else []
    details = build_unit_details(unit=unit, unit_id=unit_id, trail_n=len(trail), lang=lang,
                                 tz=app.settings.timezone)
    return details, trail


@callback(
    Output(ids.live_ack(MATCH), "children"),
    Output(ids.live_ack(MATCH), "disabled"),
    Input(ids.live_ack(MATCH), "n_clicks"),
    State(ids.live_ack(MATCH), "id"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def acknowledge(n_clicks: int | None, button_id: dict, lang: str | None) -> tuple[str, bool]:
    """Record who (settings.operator) acknowledged the alert and when."""
    if not n_clicks:
        return no_update, no_update
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    got = app.db.act(alerts.acknowledge, Actor.person(app.settings.operator, "live"), int(button_id["alert"]))
    if got is None:
        return t("live.ack_gone", lang), True
    return t("live.acked", lang).format(who=got["acked_by"], time=fmt_time(got["acked_at"], app.settings.timezone)), True
