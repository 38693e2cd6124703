"""The dispatch page's left-hand panels besides the queue, with their callbacks: repeat-incident
flags, follow-up tasks, response-time figures and the form for a walk-in or radio report."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from dashboard import ids
from dashboard.context import ctx
from dashboard.data import dispatch as data
from dashboard.data import repeats
from dashboard.data.dispatch_config import DispatchConfig, load_config, save_setting
from dashboard.data.response_times import DIMENSIONS, INTERVALS, response_times
from dashboard.components import fmt_time
from dashboard.dispatch_components import fmt_dur
from dashboard.i18n import lang_of, t, type_label
from qingzhi.errors import QingzhiError

TABS = ("queue", "flags", "followups", "times", "new", "settings")
FLAGS_TTL_S = 60.0  # flags scan a month of incidents: recompute at most once a minute per process
FORM_TYPES = ("dispute.family", "dispute.neighbour", "theft.ebike", "theft.pickpocket", "traffic.accident",
              "fraud.phone", "assault", "noise", "missing.person", "other")
SCREEN = "dispatch"
_flags_cache: dict[int, tuple[float, list[dict]]] = {}
_flags_lock = threading.Lock()


_CALLBACKS: list[tuple[tuple, dict, Callable[..., Any]]] = []


def panel_callback(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Like dash.callback, but registered by register_callbacks() for each app being built."""
    def keep(fn: Callable[..., Any]) -> Callable[..., Any]:
        _CALLBACKS.append((args, kwargs, fn))
        return fn
    return keep


def register_callbacks() -> None:
    """Register the panels' callbacks. The page module calls this: Dash executes page modules once
    per app built, while this module, an ordinary import, runs once per process."""
    for args, kwargs, fn in _CALLBACKS:
        callback(*args, **kwargs)(fn)


def clicked() -> dict | None:
    """The pattern id of the button that fired this callback if it was really clicked, else None.

    Newly drawn buttons fire callbacks too (n_clicks None); and ctx.triggered's value is
    unreliable for ids with non-ASCII text, so the clicks are read from inputs_list."""
    tid = dash.ctx.triggered_id
    if not isinstance(tid, dict):
        return None
    for group in dash.ctx.inputs_list:
        for item in group if isinstance(group, list) else [group]:
            if item["id"] == tid and item.get("value"):
                return tid
    return None


def message(text: str, *, ok: bool) -> html.Div:
    """A one-line result of an action."""
    return html.Div(text, className="dp-note ok" if ok else "dp-note error")


def current_flags(cfg: DispatchConfig, *, fresh: bool = False) -> list[dict]:
    """The repeat flags, cached per process for FLAGS_TTL_S."""
    app = ctx()
    key = id(app.db)
    with _flags_lock:
        hit = _flags_cache.get(key)
        if hit and not fresh and time.monotonic() - hit[0] < FLAGS_TTL_S:
            return hit[1]
    flags = app.db.run(repeats.repeat_flags, cfg, now=dt.datetime.now(dt.UTC))
    with _flags_lock:
        _flags_cache[key] = (time.monotonic(), flags)
    return flags


def build_tabs(*, lang: str) -> dcc.Tabs:
    """The tab strip over the left panels."""
    return dcc.Tabs(id=ids.DISPATCH_TABS, value="queue", className="dp-tabs",
                    children=[dcc.Tab(label=t(f"dispatch.tab.{k}", lang), value=k, className="dp-tab",
                                      selected_className="dp-tab-on") for k in TABS])


def build_panels(*, lang: str) -> list:
    """One container per tab; the form is static, the others are filled by callbacks."""
    form = html.Div(
        [
            html.P(t("dispatch.form.hint", lang), id=ids.DISPATCH_FORM_WHERE, className="dp-hint"),
            dcc.Dropdown(id=ids.DISPATCH_FORM_TYPE, options=[{"label": type_label(k, lang), "value": k} for k in FORM_TYPES],
                         placeholder=t("dispatch.field.type", lang)),
            dcc.Dropdown(id=ids.DISPATCH_FORM_PRIORITY, value=3, clearable=False,
                         options=[{"label": t(f"priority.{p}", lang), "value": p} for p in (1, 2, 3, 4)]),
            dcc.Input(id=ids.DISPATCH_FORM_ADDRESS, placeholder=t("dispatch.field.address", lang), className="dp-input"),
            dcc.Textarea(id=ids.DISPATCH_FORM_SUMMARY, placeholder=t("dispatch.field.summary", lang), className="dp-input"),
            dcc.Input(id=ids.DISPATCH_FORM_CALLER, placeholder=t("dispatch.field.caller", lang), className="dp-input"),
            html.Button(t("dispatch.submit", lang), id=ids.DISPATCH_FORM_SUBMIT, className="dp-btn primary"),
        ],
        className="dp-form",
    )
    times = [
        html.Div([html.Span(t("dispatch.times.by", lang)),
                  dcc.Dropdown(id=ids.DISPATCH_TIMES_BY, value="station", clearable=False,
                               options=[{"label": t(f"dim.{d}", lang), "value": d} for d in DIMENSIONS]),
                  html.Span(t("dispatch.times.window", lang))], className="dp-row"),
        html.Div(id=ids.DISPATCH_TIMES),
    ]
    return [
        html.Div([html.Div(id=ids.DISPATCH_QUEUE_COUNT, className="dp-count"),
                  html.Div(id=ids.DISPATCH_QUEUE, className="dp-queue")], id="dispatch-panel-queue"),
        html.Div([html.Div(id=ids.DISPATCH_FLAGS), html.Div(id=ids.DISPATCH_FLAG_DETAIL)],
                 id="dispatch-panel-flags", hidden=True),
        html.Div(id=ids.DISPATCH_FOLLOWUPS, **{"data-panel": "followups"}, hidden=True),
        html.Div(times, id="dispatch-panel-times", hidden=True),
        html.Div(form, id="dispatch-panel-new", hidden=True),
        html.Div(id=ids.DISPATCH_SETTINGS, className="dp-form", hidden=True),
    ]


PANEL_IDS = ("dispatch-panel-queue", "dispatch-panel-flags", ids.DISPATCH_FOLLOWUPS, "dispatch-panel-times",
             "dispatch-panel-new", ids.DISPATCH_SETTINGS)


@panel_callback([Output(p, "hidden") for p in PANEL_IDS], Input(ids.DISPATCH_TABS, "value"))
def show_tab(tab: str) -> list[bool]:
    """Show the chosen tab's panel only."""
    return [k != tab for k in TABS]


def _flag_text(f: dict, lang: str) -> str:
    if f["kind"] == "surge":
        return t("dispatch.flag.surge", lang).format(n=f["count"], b=f["baseline"])
    return t(f"dispatch.flag.{f['kind']}", lang).format(n=f["count"], d=f["days"])


@panel_callback(
    Output(ids.DISPATCH_FLAGS, "children"),
    Input(ids.DISPATCH_TABS, "value"),
    Input(ids.DISPATCH_REFRESH, "data"),
    State(ids.LANG, "data"),
)
def refresh_flags(tab: str, _refresh: int, lang: str | None) -> list:
    """The repeat flags, each with a button for its incidents and one to make a follow-up task."""
    if tab != "flags":
        return no_update
    lang = lang_of(lang, ctx().settings.language)
    flags = current_flags(ctx().db.run(load_config), fresh=True)
    if not flags:
        return [html.Div(t("dispatch.flags.empty", lang), className="dp-empty")]
    items = []
    for f in flags:
        task = f["task"]
        action = (html.Span(t("dispatch.flag.has_task", lang).format(id=task["id"], state=t(f"followup.{task['state']}", lang)),
                            className="dp-badge") if task else
                  html.Button(t("dispatch.flag.make_task", lang), id=ids.dispatch_flag_task(f["key"]), className="dp-btn small"))
        items.append(html.Div([
            html.Button([html.Span(t(f"flag.{f['kind']}", lang), className=f"dp-flag-kind k-{f['kind']}"),
                         html.Span(f" {f['label']} "), html.Span(_flag_text(f, lang), className="dp-flag-n")],
                        id=ids.dispatch_flag(f["key"]), className="dp-flag-open", n_clicks=0),
            action], className="dp-flag"))
    return items


@panel_callback(
    Output(ids.DISPATCH_FLAG_DETAIL, "children"),
    Input(ids.dispatch_flag(ALL), "n_clicks"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def show_flag(clicks: list[int], lang: str | None) -> list:
    """The incidents behind a flag, each selectable."""
    trig = clicked()
    if trig is None:
        return no_update
    lang, app = lang_of(lang, ctx().settings.language), ctx()
    key = trig["key"]
    flag = next((f for f in current_flags(app.db.run(load_config)) if f["key"] == key), None)
    if flag is None:
        return []
    rows = app.db.run(data.incidents_by_id, flag["incidents"])
    title = f"{t('flag.' + flag['kind'], lang)} {flag['label']}"
    return [html.H3(title)] + [
        html.Button([html.Span(t(f"priority.{r['priority']}", lang), className=f"dp-prio p{r['priority']}"),
                     f" {r['id']} · {type_label(r['type'], lang)} · {fmt_time(r['ts'], app.settings.timezone, with_date=True)} · ",
                     html.Span(t(f"state.{r['state']}", lang), className=f"dp-state s-{r['state']}")],
                    id=ids.dispatch_incident(r["id"], "flag"), className="dp-card small", n_clicks=0)
        for r in rows
    ]


@panel_callback(
    Output(ids.DISPATCH_MSG, "children", allow_duplicate=True),
    Output(ids.DISPATCH_REFRESH, "data", allow_duplicate=True),
    Input(ids.dispatch_flag_task(ALL), "n_clicks"),
    Input(ids.dispatch_followup_step(ALL, ALL), "n_clicks"),
    State(ids.dispatch_followup_input(ALL), "value"),
    State(ids.DISPATCH_REFRESH, "data"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def followup_action(_flags: list, _steps: list, _inputs: list, refresh: int, lang: str | None) -> tuple:
    """Make a follow-up task from a flag, or move a task on (officer, result, rating from its input)."""
    trig = clicked()
    if trig is None:
        return no_update, no_update
    app, lang = ctx(), lang_of(lang, ctx().settings.language)
    by = app.settings.operator
    try:
        if trig["type"] == "dispatch-flag-task":
            flag = next((f for f in current_flags(app.db.run(load_config), fresh=True) if f["key"] == trig["key"]), None)
            if flag is None:
                raise QingzhiError(f"flag {trig['key']} no longer holds")
            task = app.db.run(repeats.create_followup, flag, by=by, screen=SCREEN)
            done = f"#{task}"
        else:
            text = next((s.get("value") for s in dash.ctx.states_list[0] if s["id"]["task"] == trig["task"]), None) or ""
            step = trig["step"]
            rating = int(text) if step == "reviewed" and text.strip().isdigit() else None
            app.db.run(repeats.advance_followup, trig["task"], step, by=by, screen=SCREEN,
                       officer=text if step == "assigned" else None, result=text if step == "done" else None,
                       satisfaction=rating)
            done = f"#{trig['task']} {t(f'followup.{step}', lang)}"
        return message(t("dispatch.done", lang).format(what=done), ok=True), (refresh or 0) + 1
    except QingzhiError as exc:
        return message(t("dispatch.error", lang).format(why=exc), ok=False), no_update


@panel_callback(
    Output(ids.DISPATCH_FOLLOWUPS, "children"),
    Input(ids.DISPATCH_TABS, "value"),
    Input(ids.DISPATCH_REFRESH, "data"),
    State(ids.LANG, "data"),
)
def refresh_followups(tab: str, _refresh: int, lang: str | None) -> list:
    """Follow-up tasks with the input and button for each one's next step."""
    if tab != "followups":
        return no_update
    app, lang = ctx(), lang_of(lang, ctx().settings.language)
    tasks = app.db.run(repeats.followups, include_reviewed=True)
    if not tasks:
        return [html.Div(t("dispatch.followups.empty", lang), className="dp-empty")]
    out = []
    for task in tasks:
        nxt = repeats.FOLLOWUP_NEXT.get(task["state"])
        who = " · ".join(x for x in (task["officer"], task["result"],
                                     "★" * task["satisfaction"] if task["satisfaction"] else None) if x)
        step = [dcc.Input(id=ids.dispatch_followup_input(task["id"]), placeholder=t(f"followup.input.{nxt}", lang),
                          className="dp-input small"),
                html.Button(t(f"followup.to.{nxt}", lang), id=ids.dispatch_followup_step(task["id"], nxt),
                            className="dp-btn small")] if nxt else []
        out.append(html.Div([
            html.Div([html.B(f"#{task['id']} "), task["title"],
                      html.Span(t(f"followup.{task['state']}", lang), className=f"dp-badge fu-{task['state']}")]),
            html.Div(f"{fmt_time(task['created_at'], app.settings.timezone, with_date=True)} · {len(task['incidents'])} · {who}",
                     className="dp-sub"),
            html.Div(step, className="dp-row"),
        ], className="dp-task"))
    return out


@panel_callback(
    Output(ids.DISPATCH_TIMES, "children"),
    Input(ids.DISPATCH_TABS, "value"),
    Input(ids.DISPATCH_TIMES_BY, "value"),
    State(ids.LANG, "data"),
)
def refresh_times(tab: str, by: str, lang: str | None) -> Any:
    """p50 / p90 of each response interval over the last 7 days, grouped as chosen."""
    if tab != "times":
        return no_update
    app, lang = ctx(), lang_of(lang, ctx().settings.language)
    now = dt.datetime.now(dt.UTC)
    rows = app.db.run(response_times, since=now - dt.timedelta(days=7), until=now, by=by, tz=app.settings.timezone)
    if not rows:
        return html.Div(t("dispatch.times.empty", lang), className="dp-empty")
    head = [html.Th(t(f"dim.{by}", lang)), html.Th(t("dispatch.col.n", lang))]
    head += [html.Th(t(f"interval.short.{k}", lang), title=t(f"interval.{k}", lang)) for k in INTERVALS]
    body = [
        html.Tr([html.Td(t(f"priority.{r['grp']}", lang) if by == "priority" else r["grp"]), html.Td(r["incidents"])]
                + [html.Td([fmt_dur(r[f"{k}_p50"]), html.Br(), html.Small(fmt_dur(r[f"{k}_p90"]))],
                           title=f"{t(f'interval.{k}', lang)} n={r[f'{k}_n']}") for k in INTERVALS])
        for r in rows
    ]
    return [html.Table([html.Thead(html.Tr(head)), html.Tbody(body)], className="dp-table dp-times-table"),
            html.P(t("dispatch.times.legend", lang), className="dp-sub")]


@panel_callback(
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
    lat, lon = click["latlng"]["lat"], click["latlng"]["lng"]
    return {"lat": lat, "lon": lon}, f"{t('dispatch.field.location', lang_of(lang, 'zh'))}: {lat:.5f}, {lon:.5f}"


@panel_callback(
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
def submit_incident(n: int, where: dict | None, typ: str | None, priority: int, address: str | None,
                    summary: str | None, caller: str | None, lang: str | None) -> tuple:
    """Record a walk-in or radio report (source 'form') and select it for dispatch."""
    app, lang = ctx(), lang_of(lang, ctx().settings.language)
    if not where:
        return message(t("dispatch.form.no_location", lang), ok=False), no_update, no_update, no_update
    try:
        incident = app.db.run(
            data.create_incident, lat=where["lat"], lon=where["lon"], type=typ or "", priority=int(priority),
            by=app.settings.operator, tz=app.settings.timezone, address=address, summary=summary, caller=caller,
            caller_key=app.settings.caller_key, screen=SCREEN,
        )
    except QingzhiError as exc:
        return message(t("dispatch.error", lang).format(why=exc), ok=False), no_update, no_update, no_update
    return message(t("dispatch.form.created", lang).format(id=incident), ok=True), incident, None, "queue"


@panel_callback(
    Output(ids.DISPATCH_SETTINGS, "children"),
    Input(ids.DISPATCH_TABS, "value"),
    State(ids.LANG, "data"),
)
def show_settings(tab: str, lang: str | None) -> list:
    """Every dispatch setting as editable JSON, each with its own save button."""
    if tab != "settings":
        return no_update
    lang = lang_of(lang, ctx().settings.language)
    cfg = ctx().db.run(load_config).model_dump(mode="json")
    out: list = [html.P(t("dispatch.settings.hint", lang), className="dp-sub")]
    for key, value in cfg.items():
        out += [html.Label(t(f"setting.{key}", lang), className="dp-k"),
                html.Div([dcc.Textarea(id=ids.dispatch_setting(key), value=json.dumps(value, ensure_ascii=False),
                                       className="dp-input dp-json"),
                          html.Button(t("dispatch.settings.save", lang), id=ids.dispatch_setting_save(key),
                                      className="dp-btn small")], className="dp-row")]
    return out


@panel_callback(
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
        return message(t("dispatch.settings.bad_json", lang).format(key=key, err=exc), ok=False), no_update
    try:
        app.db.run(save_setting, key, value, app.settings.operator, SCREEN, data_dir=app.settings.data_dir)
    except QingzhiError as exc:
        return message(t("dispatch.error", lang).format(why=exc), ok=False), no_update
    return message(t("dispatch.done", lang).format(what=t(f"setting.{key}", lang)), ok=True), (refresh or 0) + 1
