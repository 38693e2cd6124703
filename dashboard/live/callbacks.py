"""Callbacks of the live map and the wall: what the commander does (filter, search, click a
unit, acknowledge an alert). The map itself is kept up to date by assets/js (see live/api.py)."""

from __future__ import annotations

from typing import Any

from dash import MATCH, Input, Output, State, no_update

from dashboard import ids
from dashboard.auth.session_cookies import check_visible, current_actor
from dashboard.callbacks import CallbackSet
from dashboard.cameras.api import policy as camera_policy
from dashboard.context import ctx
from dashboard.live import queries as data
from dashboard.formats import fmt_time
from dashboard.i18n import lang_of, t
from dashboard.live.components import build_unit_details, trail_geojson
from dashboard.maps import for_tiles
from qingzhi.core import alerts
from qingzhi.core.access import Unauthorized
from qingzhi.errors import QingzhiError

CALLBACKS = CallbackSet("live", "live.view")

# assets/js/30_live_stream.js: start the engine once the page's config is there, then follow
# the station filter and options, and find units by call sign.
CALLBACKS.clientside("liveStart", Output(ids.LIVE_STARTED, "children"), Input(ids.LIVE_CONFIG, "data"))
CALLBACKS.clientside("liveFilter", Output(ids.LIVE_STARTED, "title"), Input(ids.LIVE_STATION, "value"),
                     Input(ids.LIVE_OPTIONS, "value"))
CALLBACKS.clientside("liveSearch", Output(ids.LIVE_SEARCH_MSG, "children"), Input(ids.LIVE_SEARCH, "value"),
                     prevent_initial_call=True)


@CALLBACKS.callback(
    Output(ids.LIVE_DETAILS, "children"),
    Output(ids.LIVE_TRAIL, "data"),
    Input(ids.LIVE_SELECTED, "data"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def show_unit(unit_id: str | None, lang: str | None) -> tuple[list, dict[str, Any]]:
    """Details and 30-minute trail of the unit clicked on the map (or found by search)."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    unit = app.db.run(data.unit_details, unit_id) if unit_id else None
    if unit is not None:
        check_visible(unit["station"])
    trail = app.db.run(data.trail, unit_id, 30) if unit else []
    details = build_unit_details(unit=unit, unit_id=unit_id, trail_n=len(trail), lang=lang,
                                 stream_policy=camera_policy(app.settings),
                                 tz=app.settings.timezone)
    return details, for_tiles(trail_geojson(trail), app.settings)


@CALLBACKS.callback(
    Output(ids.live_ack(MATCH), "children"),
    Output(ids.live_ack(MATCH), "disabled"),
    Input(ids.live_ack(MATCH), "n_clicks"),
    State(ids.live_ack(MATCH), "id"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def acknowledge(n_clicks: int | None, button_id: dict, lang: str | None) -> tuple[str, bool]:
    """Record who (the logged-in commander) acknowledged the alert and when."""
    if not n_clicks:
        return no_update, no_update
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    alert = button_id.get("alert") if isinstance(button_id, dict) else None
    try:
        got = app.db.act(alerts.acknowledge, current_actor("live"), alert)
    except Unauthorized:
        raise                                  # the gate's 403
    except QingzhiError as exc:
        return str(exc), True
    if got is None:
        return t("live.ack_gone", lang), True
    return t("live.acked", lang).format(who=got["acked_by"], time=fmt_time(got["acked_at"], app.settings.timezone)), True
