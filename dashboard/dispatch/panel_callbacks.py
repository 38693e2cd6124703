"""Callbacks of the dispatch page's left-hand tabs besides the queue: show a tab, repeat flags and
their follow-up tasks, response times, the new-incident form (a map click sets its location) and
the settings. Each panel is filled when its tab is opened and after every action."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import dash
from dash import ALL, MATCH, Input, Output, State, no_update

from dashboard import ids
from dashboard.auth.session_cookies import OutOfScope, current_actor, visible_stations
from dashboard.callbacks import CallbackSet, clicked
from dashboard import commands
from dashboard.context import ctx
from dashboard.dispatch import queries as data
from qingzhi.core.response_times import response_times
from dashboard.dispatch import panels
from dashboard.dispatch.components import build_message
from dashboard.dispatch.views import SCREEN, config, current_flags
from dashboard.i18n import lang_of, t
from dashboard.maps import picked
from dashboard.stations import station_names
from qingzhi.core import followups, grids, incident_actions
from qingzhi.core.dispatch_config import save_setting
from qingzhi.errors import QingzhiError

CALLBACKS = CallbackSet("dispatch-panels", "dispatch.view")


@CALLBACKS.callback([Output(ids.dispatch_panel(tab), "hidden") for tab in panels.TABS],
                    Input(ids.DISPATCH_TABS, "value"))
def show_tab(tab: str) -> list[bool]:
    """Show the chosen tab's panel only."""
    return [k != tab for k in panels.TABS]


@CALLBACKS.callback(
    Output(ids.DISPATCH_FLAGS, "children"),
    Input(ids.DISPATCH_TABS, "value"),
    Input(ids.DISPATCH_REFRESH, "data"),
    State(ids.LANG, "data"),
)
def refresh_flags(tab: str, _refresh: int, lang: str | None) -> list:
    """The repeat flags, each with a button for its incidents and one to make a follow-up task."""
    if tab != "flags":
        return no_update
    app = ctx()
    return panels.build_flags(current_flags(app, config(app), fresh=True), lang=lang_of(lang, app.settings.language))


@CALLBACKS.callback(
    Output(ids.DISPATCH_FLAG_DETAIL, "children"),
    Input(ids.dispatch_flag(ALL), "n_clicks"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def show_flag(clicks: list[int | None], lang: str | None) -> list:
    """The incidents behind a flag, each selectable."""
    trig = clicked()
    if trig is None:
        return no_update
    app = ctx()
    flag = next((f for f in current_flags(app, config(app)) if f["key"] == trig["key"]), None)
    if flag is None:
        return []
    rows = app.db.run(data.incidents_by_id, flag["incidents"])
    return panels.build_flag_incidents(flag, rows, lang=lang_of(lang, app.settings.language), tz=app.settings.timezone)


@CALLBACKS.callback(
    Output(ids.DISPATCH_MSG, "children", allow_duplicate=True),
    Output(ids.DISPATCH_REFRESH, "data", allow_duplicate=True),
    Input(ids.dispatch_flag_task(ALL), "n_clicks"),
    Input(ids.dispatch_followup_step(ALL, ALL), "n_clicks"),
    State(ids.dispatch_followup_input(ALL), "value"),
    State(ids.dispatch_assign_field(ALL, ALL), "value"),
    State(ids.DISPATCH_REFRESH, "data"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def followup_action(_flags: list, _steps: list, _inputs: list, _assign: list, refresh: int, lang: str | None) -> tuple:
    """Make a follow-up task from a flag, or move a task on: 交办 from its form (station, officer, device,
    grid worker, deadline; the core checks each and who may), the later steps from its input."""
    trig = clicked()
    if trig is None:
        return no_update, no_update
    app, lang = ctx(), lang_of(lang, ctx().settings.language)
    actor = current_actor(SCREEN)
    try:
        if trig["type"] == ids.DISPATCH_FLAG_TASK_TYPE:
            flag = next((f for f in current_flags(app, config(app), fresh=True) if f["key"] == trig["key"]), None)
            if flag is None:
                raise QingzhiError(f"flag {trig['key']} no longer holds")
            task = app.db.act(followups.create_followup, actor, flag)
            done = f"#{task}"
        else:
            text = next((s.get("value") for s in dash.ctx.states_list[0] if s["id"]["task"] == trig["task"]), None) or ""
            step = trig["step"]
            if step == "assigned":  # blank officer, device, worker: the task's grid's
                form = {s["id"]["field"]: s.get("value") for s in dash.ctx.states_list[1] if s["id"]["task"] == trig["task"]}
                commands.assign_task(app, actor, trig["task"], station=_text(form.get("station")),
                                     officer=_text(form.get("officer")), unit=_text(form.get("unit")),
                                     grid_worker=_text(form.get("worker")),
                                     due=_deadline(form.get("due"), app.settings.timezone, lang))
            else:
                rating = int(text) if step == "rated" and text.strip().isdigit() else None
                app.db.act(followups.record_step, actor, trig["task"], step,
                           text=None if step == "rated" else text, rating=rating)
            done = f"#{trig['task']} {t(f'followup.{step}', lang)}"
        return build_message(t("dispatch.done", lang).format(what=done), ok=True), (refresh or 0) + 1
    except QingzhiError as exc:
        return build_message(t("dispatch.error", lang).format(why=exc), ok=False), no_update


@CALLBACKS.callback(
    Output(ids.dispatch_assign_field(MATCH, "unit"), "options"),
    Input(ids.dispatch_assign_field(MATCH, "station"), "value"),
    prevent_initial_call=True,
)
def units_of_station(station: Any) -> list[dict[str, str]]:
    """The 交办 form's devices narrowed to the chosen station (none for one outside the user's scope)."""
    try:
        stations = visible_stations(_text(station))
    except (OutOfScope, QingzhiError):
        return []
    return panels.unit_options(ctx().db.run(data.unit_choices, stations))


def _text(value: Any) -> str | None:
    """A form value as text (a crafted request may post anything); the core checks it further."""
    if value is not None and not isinstance(value, str):
        raise QingzhiError(f"expected text, not {type(value).__name__}")
    return value


def _deadline(value: Any, tz: str, lang: str) -> dt.datetime | None:
    """The 交办 form's deadline, typed in the page's time zone (blank: the configured step time); the core
    checks it is ahead and not too far."""
    text = (_text(value) or "").strip().replace("T", " ")
    if not text:
        return None
    try:
        if len(text) > len("YYYY-MM-DD HH:MM"):
            raise ValueError(text)
        return dt.datetime.strptime(text, panels.DUE_FORMAT).replace(tzinfo=ZoneInfo(tz))
    except ValueError:
        raise QingzhiError(t("followup.bad_due", lang)) from None


@CALLBACKS.callback(
    Output(ids.DISPATCH_FOLLOWUPS, "children"),
    Input(ids.DISPATCH_TABS, "value"),
    Input(ids.DISPATCH_REFRESH, "data"),
    State(ids.LANG, "data"),
)
def refresh_followups(tab: str, _refresh: int, lang: str | None) -> list:
    """Follow-up tasks with the input and button for each one's next step."""
    if tab != "followups":
        return no_update
    app = ctx()
    stations = visible_stations()
    tasks = app.db.run(followups.tasks, include_closed=True, stations=stations)
    choices = {"stations": app.db.run(data.station_ids, stations), "units": app.db.run(data.unit_choices, stations),
               "due": followups.step_due(config(app), "verified")}
    return panels.build_followups(tasks, followups.FOLLOWUP_NEXT, lang=lang_of(lang, app.settings.language),
                                  tz=app.settings.timezone, choices=choices)


@CALLBACKS.callback(
    Output(ids.DISPATCH_TIMES, "children"),
    Input(ids.DISPATCH_TABS, "value"),
    Input(ids.DISPATCH_TIMES_BY, "value"),
    State(ids.LANG, "data"),
)
def refresh_times(tab: str, by: str, lang: str | None) -> Any:
    """p50 / p90 of each response interval over the last 7 days, grouped as chosen."""
    if tab != "times":
        return no_update
    app = ctx()
    now = dt.datetime.now(dt.UTC)
    rows = app.db.run(response_times, since=now - dt.timedelta(days=7), until=now, by=by, tz=app.settings.timezone,
                      stations=visible_stations())
    lang = lang_of(lang, app.settings.language)
    return panels.build_times(rows, by=by, names=station_names(app.db, lang), lang=lang)


@CALLBACKS.callback(
    Output(ids.DISPATCH_CLICK, "data"),
    Output(ids.DISPATCH_FORM_WHERE, "children"),
    Input(ids.DISPATCH_MAP, "clickData"),
    State(ids.DISPATCH_TABS, "value"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def pick_location(click: dict | None, tab: str, lang: str | None) -> tuple:
    """A map click sets the new incident's location (only while the form is open)."""
    if tab != "new" or not click:
        return no_update, no_update
    latlng = click.get("latlng") if isinstance(click, dict) else None
    where = picked(latlng, ctx().settings)  # the database is WGS-84 whatever the tiles are in
    if where is None:
        return no_update, no_update
    lat, lon = where
    return {"lat": lat, "lon": lon}, f"{t('dispatch.field.location', lang_of(lang, 'zh'))}: {lat:.5f}, {lon:.5f}"


@CALLBACKS.callback(
    Output(ids.DISPATCH_MSG, "children", allow_duplicate=True),
    Output(ids.DISPATCH_SELECTED, "data", allow_duplicate=True),
    Output(ids.DISPATCH_CLICK, "data", allow_duplicate=True),
    Output(ids.DISPATCH_TABS, "value"),
    Input(ids.DISPATCH_FORM_SUBMIT, "n_clicks"),
    State(ids.DISPATCH_CLICK, "data"),
    State(ids.DISPATCH_FORM_TYPE, "value"),
    State(ids.DISPATCH_FORM_PRIORITY, "value"),
    State(ids.DISPATCH_FORM_ADDRESS, "value"),
    State(ids.DISPATCH_FORM_SUMMARY, "value"),
    State(ids.DISPATCH_FORM_CALLER, "value"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def submit_incident(n: int | None, where: Any, typ: str | None, priority: Any, address: str | None,
                    summary: str | None, caller: str | None, lang: str | None) -> tuple:
    """Record a walk-in or radio report (source 'form') and select it for dispatch.

    The place and the priority are not type-checked on the way in (Any): the core checks them and
    says what is wrong in the form's message, which a user who cleared the priority needs to see."""
    app, lang = ctx(), lang_of(lang, ctx().settings.language)
    if not where or not isinstance(where, dict):
        return build_message(t("dispatch.form.no_location", lang), ok=False), no_update, no_update, no_update
    try:
        incident = app.db.act(   # the core checks every value: the page sends back whatever the browser holds
            incident_actions.create_incident, current_actor(SCREEN), lat=where.get("lat"),
            lon=where.get("lon"), type=typ or "", priority=priority, tz=app.settings.timezone, address=address,
            summary=summary, caller=caller, caller_key=app.settings.caller_key,
        )
    except QingzhiError as exc:
        return build_message(t("dispatch.error", lang).format(why=exc), ok=False), no_update, no_update, no_update
    return build_message(t("dispatch.form.created", lang).format(id=incident), ok=True), incident, None, "queue"


@CALLBACKS.callback(
    Output(ids.DISPATCH_SETTINGS, "children"),
    Input(ids.DISPATCH_TABS, "value"),
    State(ids.LANG, "data"),
)
def show_settings(tab: str, lang: str | None) -> list:
    """Every dispatch setting as editable JSON, each with its own save button."""
    if tab != "settings":
        return no_update
    app = ctx()
    return panels.build_settings(config(app).model_dump(mode="json"), lang=lang_of(lang, app.settings.language),
                                 stations=app.db.run(data.station_ids, visible_stations()))


@CALLBACKS.callback(
    Output(ids.DISPATCH_MSG, "children", allow_duplicate=True),
    Input(ids.DISPATCH_GRID_UPLOAD, "contents"),
    State(ids.DISPATCH_GRID_UPLOAD, "filename"),
    State(ids.DISPATCH_GRID_STATION, "value"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def upload_grids(contents: str | None, filename: str | None, station: str | None, lang: str | None) -> Any:
    """Replace the chosen station's community grids with the uploaded GeoJSON (checked by the core)."""
    app, lang = ctx(), lang_of(lang, ctx().settings.language)
    if not contents:
        return no_update
    try:
        if not station:
            raise QingzhiError(t("dispatch.grids.station", lang))
        try:
            geojson = json.loads(base64.b64decode(contents.split(",", 1)[-1]).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise QingzhiError(f"{str(filename)[:80]}: not GeoJSON") from None
        n = app.db.act(grids.load_grids, current_actor(SCREEN), station, geojson)
    except QingzhiError as exc:
        return build_message(t("dispatch.error", lang).format(why=exc), ok=False)
    return build_message(t("dispatch.grids.loaded", lang).format(n=n, station=station), ok=True)


@CALLBACKS.callback(
    Output(ids.DISPATCH_MSG, "children", allow_duplicate=True),
    Output(ids.DISPATCH_REFRESH, "data", allow_duplicate=True),
    Input(ids.dispatch_setting_save(ALL), "n_clicks"),
    State(ids.dispatch_setting(ALL), "value"),
    State(ids.DISPATCH_REFRESH, "data"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def save_settings(_clicks: list, _values: list, refresh: int, lang: str | None) -> tuple:
    """Validate and save one setting; a bad value changes nothing and says why."""
    trig = clicked()
    if trig is None:
        return no_update, no_update
    app, lang, key = ctx(), lang_of(lang, ctx().settings.language), trig["key"]
    text = next((s.get("value") for s in dash.ctx.states_list[0] if s["id"]["key"] == key), None) or ""
    try:
        value = json.loads(text)
    except ValueError as exc:
        return build_message(t("dispatch.settings.bad_json", lang).format(key=key, err=exc), ok=False), no_update
    try:
        app.db.act(save_setting, current_actor(SCREEN), key, value, data_dir=app.settings.data_dir)
    except QingzhiError as exc:
        return build_message(t("dispatch.error", lang).format(why=exc), ok=False), no_update
    return build_message(t("dispatch.done", lang).format(what=t(f"setting.{key}", lang)), ok=True), (refresh or 0) + 1
