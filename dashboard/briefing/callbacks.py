"""The briefing and playback pages' callbacks: show the briefing of the chosen period and station,
export it (HTML, PDF, CSV; audited); load a playback window and play it (clientside, 60_playback.js). The meeting tasks' callbacks are in task_callbacks.py (`briefing.act`)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, no_update

from dashboard import ids
from dashboard.inputs import Bounds
from dashboard.auth.session_cookies import current_actor
from dashboard.briefing import components as ui
from dashboard.briefing.basemap import basemap_of
from dashboard.briefing.export import export_bytes
from dashboard.briefing.playback_parts import window_of
from dashboard.callbacks import CallbackSet
from dashboard.context import ctx
from dashboard.i18n import lang_of, t
from dashboard.maps import arrays_for_tiles, latlng_for_tiles, picked
from qingzhi.core import audit
from qingzhi.core.access import allowed
from qingzhi.core.briefing.build import build_briefing
from qingzhi.core.briefing.config import load_config
from qingzhi.core.briefing.period import Period, parse_day, period_of
from qingzhi.core.briefing.playback import playback
from qingzhi.errors import QingzhiError

CALLBACKS = CallbackSet("briefing", "briefing.view")
SCREEN = "briefing"
PERIOD = [State(ids.BRIEF_KIND, "value"), State(ids.BRIEF_DAY, "date"), State(ids.BRIEF_TO, "date"),
          State(ids.BRIEF_STATION, "value")]
EXPORTS = {ids.BRIEF_EXPORT_HTML: ("html", "text/html"), ids.BRIEF_EXPORT_PDF: ("pdf", "application/pdf"),
           ids.BRIEF_EXPORT_CSV: ("zip", "application/zip")}


def period_from(kind: str | None, day: str | None, last: str | None, tz: str) -> Period:
    """The period the controls describe, or a QingzhiError saying what is wrong."""
    first = parse_day(day, "day")
    if kind == "range":
        return period_of("range", first, tz, last=parse_day(last, "to"))
    return period_of(kind or "day", first, tz)


def _briefing(kind: str | None, day: str | None, last: str | None, station: str | None) -> dict[str, Any]:
    app = ctx()
    period = period_from(kind, day, last, app.settings.timezone)
    return app.db.act(build_briefing, current_actor(SCREEN), period, load_config(app.settings.briefing_config),
                      station=station or None)


@CALLBACKS.callback(
    Output(ids.BRIEF_BODY, "children"), Output(ids.BRIEF_ERROR, "children"),
    Input(ids.BRIEF_SHOW, "n_clicks"), Input(ids.BRIEF_TASK_MSG, "children"), *PERIOD, State(ids.LANG, "data"),
)
def show(_: int | None, __: Any, kind: str | None, day: str | None, last: str | None, station: str | None,
         lang: str | None) -> tuple[Any, str]:
    """The briefing of the chosen period and station (the server narrows it to the user's scope)."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    try:
        b = _briefing(kind, day, last, station)
    except QingzhiError as exc:
        return [], t("brief.error", lang).format(msg=exc)
    can_act = allowed(current_actor(SCREEN), "briefing.act")
    basemap = basemap_of(app.settings, app.tiles)
    return ui.build_briefing(b, lang, app.settings.timezone, can_act=can_act, basemap=basemap), ""


@CALLBACKS.callback(
    Output(ids.BRIEF_DOWNLOAD, "data"), Output(ids.BRIEF_EXPORT_STATUS, "children"),
    *[Input(i, "n_clicks") for i in EXPORTS], *PERIOD, State(ids.LANG, "data"), prevent_initial_call=True,
)
def export(*args: Any) -> tuple[Any, str]:
    """The briefing as a file: self-contained HTML, PDF or the tables as CSV (a zip); audited."""
    kind, day, last, station, lang = args[len(EXPORTS):]
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    which = dash.ctx.triggered_id
    if which not in EXPORTS or not dash.ctx.triggered[0].get("value"):
        return no_update, ""
    fmt, mime = EXPORTS[which]
    try:
        b = _briefing(kind, day, last, station)
    except QingzhiError as exc:
        return no_update, t("brief.error", lang).format(msg=exc)
    data = export_bytes(b, fmt, lang, app.settings.timezone, basemap=basemap_of(app.settings, app.tiles))
    app.db.act(audit.export, current_actor(SCREEN), "briefing", len(b["headlines"]),
               {"period": b["period"].label, "kind": b["period"].kind, "station": station or None, "format": fmt})
    name = f"briefing-{b['period'].first}{'-' + str(b['period'].last) if b['period'].days > 1 else ''}.{fmt}"
    return dcc.send_bytes(data, name, type=mime), ""


@CALLBACKS.callback(
    Output(ids.PB_DATA, "data"), Output(ids.PB_SLIDER, "min"), Output(ids.PB_SLIDER, "max"),
    Output(ids.PB_SLIDER, "value"), Output(ids.PB_MSG, "children"), Output(ids.PB_MAP, "viewport"),
    Input(ids.PB_LOAD, "n_clicks"), State(ids.PB_DAY, "date"), State(ids.PB_FROM, "value"), State(ids.PB_TO, "value"),
    State(ids.PB_UNITS, "value"), State(ids.PB_AREA, "value"), State(ids.PB_MAP, "bounds"), State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def load_playback(_: int | None, day: str | None, start: str | None, end: str | None, units: str | None,
                  area: list[str] | None, bounds: Bounds | None, lang: str | None) -> tuple:
    """Tracks, statuses, incidents and stops of the window (narrowed to the user's stations by the core)."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    corners = [picked({"lat": c[0], "lng": c[1]}, app.settings) for c in bounds or []] if area else []
    bbox = (*corners[0], *corners[1]) if len(corners) == 2 and None not in corners else None
    try:
        win = window_of(day, start, end, units, bbox, app.settings.timezone)
        got = app.db.act(playback, current_actor(SCREEN), win)
    except QingzhiError as exc:
        return no_update, no_update, no_update, no_update, t("brief.error", lang).format(msg=exc), no_update
    for item in got["units"]:  # everything drawn where the configured tiles have it (QZ_TILE_CRS)
        item["lat"], item["lon"] = arrays_for_tiles(item["lat"], item["lon"], app.settings)
    for item in got["incidents"] + got["stops"]:
        item["lat"], item["lon"] = latlng_for_tiles(item["lat"], item["lon"], app.settings)
    lats = [x for u in got["units"] for x in (min(u["lat"]), max(u["lat"]))]
    lons = [x for u in got["units"] for x in (min(u["lon"]), max(u["lon"]))]
    fit = {"bounds": [[min(lats), min(lons)], [max(lats), max(lons)]]} if lats and not bbox else no_update
    got["clock"] = {"tz": app.settings.timezone}
    msg = t("pb.loaded", lang).format(units=len(got["units"]), points=sum(len(u["t"]) for u in got["units"]),
                                      incidents=len(got["incidents"]), stops=len(got["stops"]))
    return got, got["since"], got["until"], got["since"], msg, fit


CALLBACKS.clientside("playbackFrame", Output(ids.PB_UNIT_LAYER, "data"), Output(ids.PB_INCIDENT_LAYER, "data"),
                     Output(ids.PB_STOP_LAYER, "data"), Output(ids.PB_CLOCK, "children"),
                     Input(ids.PB_SLIDER, "value"), Input(ids.PB_DATA, "data"))
CALLBACKS.clientside("playbackTick", Output(ids.PB_SLIDER, "value", allow_duplicate=True),
                     Input(ids.PB_TICK, "n_intervals"), State(ids.PB_SLIDER, "value"), State(ids.PB_SPEED, "value"),
                     State(ids.PB_SLIDER, "max"), prevent_initial_call=True)
CALLBACKS.clientside("playbackToggle", Output(ids.PB_TICK, "disabled"), Input(ids.PB_PLAY, "n_clicks"))
