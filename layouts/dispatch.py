"""/dispatch: the incident queue, one incident's detail with recommended units, one-click
assignment with live acknowledgement, and the lifecycle actions. The side panels (repeat
flags, follow-ups, response times, new incident) live in dashboard/dispatch_panels.py."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, no_update

from dashboard import commands, ids
from dashboard import dispatch_components as dc
from dashboard import dispatch_panels as panels
from dashboard.context import ctx
from dashboard.data import audit, lifecycle
from dashboard.data import live as live_data
from dashboard.data import dispatch as data
from dashboard.data.dispatch_config import DispatchConfig, load_config
from dashboard.i18n import lang_of, t
from dashboard.recommend import fleet_cache, recommend
from dashboard.road_eta import road_times
from qingzhi.errors import QingzhiError

dash.register_page(__name__, path="/dispatch", title="指挥调度 · qingzhi", name="dispatch")
panels.register_callbacks()

SCREEN = "dispatch"
TOP_K = 6
ALERT_EVERY_TICKS = 5  # raise ack-timeout / overdue alerts every ~10 s from each open page


def layout(lang: str | None = None, incident: str | None = None, **_: Any) -> Any:
    """The page; `?incident=ID` opens with that incident selected (links from the live map)."""
    settings = ctx().settings
    lang = lang_of(lang, settings.language)
    areas = ctx().db.run(live_data.areas)
    return dc.build_page(settings=settings, lang=lang, selected=incident, tabs=panels.build_tabs(lang=lang),
                         panels=panels.build_panels(lang=lang), areas=areas)


def _cfg() -> DispatchConfig:
    return ctx().db.run(load_config)


def _recommended(d: dict, cfg: DispatchConfig) -> list[dict]:
    app = ctx()
    if d["state"] not in dc.ASSIGNABLE:
        return []
    fleet = fleet_cache(app.db).get(app.db)
    on_it = [a["unit"] for a in d["assignments"]]  # sent already, or released from it: not offered again here
    roads = road_times(cfg.roads, app.settings.center_latlon, app.settings.data_dir)
    return recommend(fleet, d["lat"], d["lon"], cfg=cfg, now=time.time(), stale_after_s=app.settings.stale_after_s,
                     k=TOP_K, exclude=on_it, roads=roads)


@callback(
    Output(ids.DISPATCH_QUEUE, "children"),
    Output(ids.DISPATCH_QUEUE_COUNT, "children"),
    Output(ids.DISPATCH_QUEUE_SIG, "data"),
    Input(ids.DISPATCH_TICK, "n_intervals"),
    Input(ids.DISPATCH_REFRESH, "data"),
    Input(ids.DISPATCH_SELECTED, "data"),
    State(ids.DISPATCH_QUEUE_SIG, "data"),
    State(ids.LANG, "data"),
)
def refresh_queue(tick: int | None, _refresh: int, selected: str | None, sig: str | None, lang: str | None) -> tuple:
    """The queue, sorted by priority and age, overdue ones marked; raises due alerts now and then.
    Redrawn only when what it shows changes (the waits advance in the browser)."""
    app, lang = ctx(), lang_of(lang, ctx().settings.language)
    cfg = _cfg()
    if (tick or 0) % ALERT_EVERY_TICKS == 0:
        app.db.run(data.raise_due_alerts, cfg)
    now = dt.datetime.now(dt.UTC)
    rows = app.db.run(data.queue, cfg, now=now)
    repeat_ids = {i for f in panels.current_flags(cfg) for i in f["incidents"]}
    shown = json.dumps([[r[k] for k in ("id", "state", "priority", "overdue", "units", "ack", "address")] for r in rows]
                       + [selected, lang, sorted(repeat_ids & {r["id"] for r in rows})], default=str)
    if shown == sig and dash.ctx.triggered_id == ids.DISPATCH_TICK:
        return no_update, no_update, no_update
    overdue = sum(1 for r in rows if r["overdue"])
    count = t("dispatch.queue.count", lang).format(n=len(rows), o=overdue)
    return dc.build_queue(rows, lang=lang, selected=selected, repeat_ids=repeat_ids, now=now), count, shown


@callback(
    Output(ids.DISPATCH_SELECTED, "data"),
    Input(ids.dispatch_incident(ALL, ALL), "n_clicks"),
    prevent_initial_call=True,
)
def select_incident(clicks: list[int | None]) -> str:
    """A click on an incident card (queue or a flag's list) selects it."""
    trig = panels.clicked()
    return trig["id"] if trig else no_update  # None: a card was redrawn, not clicked


@callback(
    Output(ids.DISPATCH_HEAD, "children"),
    Output(ids.DISPATCH_UNITS, "children"),
    Output(ids.DISPATCH_RECOMMEND, "children"),
    Output(ids.DISPATCH_ACTIONS, "children"),
    Output(ids.DISPATCH_MAP_LAYER, "children"),
    Output(ids.DISPATCH_MAP, "viewport"),
    Output(ids.DISPATCH_SIG, "data"),
    Input(ids.DISPATCH_SELECTED, "data"),
    Input(ids.DISPATCH_TICK, "n_intervals"),
    Input(ids.DISPATCH_REFRESH, "data"),
    Input(ids.DISPATCH_CLICK, "data"),
    State(ids.DISPATCH_SIG, "data"),
    State(ids.LANG, "data"),
)
def refresh_detail(selected: str | None, _tick: int, _refresh: int, click: dict | None, sig: dict | None,
                   lang: str | None) -> tuple:
    """The selected incident: facts, units and their acks, recommended units, actions, map.
    Parts whose data did not change are not sent again (a form being filled in stays as it is)."""
    app, lang = ctx(), lang_of(lang, ctx().settings.language)
    tz, sig = app.settings.timezone, sig or {}
    d = app.db.run(data.incident_detail, selected) if selected else None
    if d is None:
        head = t("dispatch.not_found", lang).format(id=selected) if selected else t("dispatch.select_hint", lang)
        return head, [], [], [], dc.build_map_layer(None, [], lang=lang, click=click), no_update, {}
    cfg = _cfg()
    cands = _recommended(d, cfg)
    history = app.db.run(audit.entries, incident=d["id"], limit=30)
    now = dt.datetime.now(dt.UTC)
    next_unit = cands[0]["id"] if cands else None
    live = json.dumps([d, [(c["id"], round(c["eta_s"], -1)) for c in cands], click, lang, len(history),
                       [dc.ack_state(a, now=now, timeout_s=cfg.ack_timeout_s) for a in d["assignments"]]], default=str)
    new_sig = {"live": live, "actions": f"{d['id']}:{d['state']}:{lang}", "id": d["id"]}
    if sig.get("live") == live and dash.ctx.triggered_id == ids.DISPATCH_TICK:
        return (no_update,) * 7  # nothing a commander could see has changed: keep the buttons under the mouse
    actions = dc.build_actions(d["state"], lang=lang) if sig.get("actions") != new_sig["actions"] else no_update
    viewport = {"center": [d["lat"], d["lon"]], "zoom": 14, "transition": "flyTo"} if sig.get("id") != d["id"] else no_update
    return (
        dc.build_head(d, lang=lang, tz=tz) + dc.build_history(history, lang=lang, tz=tz),
        dc.build_units(d, lang=lang, tz=tz, now=now, timeout_s=cfg.ack_timeout_s, next_unit=next_unit),
        dc.build_recommend(cands, lang=lang, state=d["state"]),
        actions,
        dc.build_map_layer(d, cands, lang=lang, click=click),
        viewport,
        new_sig,
    )


def _fields() -> dict[str, Any]:
    """Values of the action forms' inputs by name (they exist only in some states)."""
    return {s["id"]["name"]: s.get("value") for s in dash.ctx.states_list[1]}


def _do_action(selected: str, trigger: dict, lang: str) -> str:
    """Carry out the clicked action on the selected incident; returns the message to show."""
    app = ctx()
    by, kind = app.settings.operator, trigger["type"]
    if kind == "dispatch-assign":
        cmd = commands.assign(app, selected, trigger["unit"], screen=SCREEN)
        key = "dispatch.assigned_msg" if cmd.published else "dispatch.assigned_unconfirmed"
        return t(key, lang).format(unit=trigger["unit"])
    if kind == "dispatch-release":
        commands.release(app, selected, trigger["unit"], screen=SCREEN,
                         reason="no_ack" if trigger["next"] else "released")
        if trigger["next"]:
            commands.assign(app, selected, trigger["next"], screen=SCREEN)
            return t("dispatch.assigned_msg", lang).format(unit=trigger["next"])
        return t("dispatch.done", lang).format(what=f"{t('dispatch.release', lang)} {trigger['unit']}")
    if kind == "dispatch-step":
        app.db.run(lifecycle.advance, selected, trigger["step"], by=by, screen=SCREEN)
        return t("dispatch.done", lang).format(what=t(f"state.{trigger['step']}", lang))
    f = _fields()
    name = trigger["name"]
    if name in ("feedback", "review"):
        rating = f.get("rating")
        app.db.run(lifecycle.record_review, selected, name, by=by, result=f.get("result") or "",
                   satisfaction=int(rating) if rating else None, note=f.get("note") or None, screen=SCREEN)
    elif name == "cancel":
        app.db.run(lifecycle.cancel, selected, by=by, screen=SCREEN, reason=f.get("reason") or "")
    elif name == "merge":
        app.db.run(lifecycle.merge, selected, (f.get("into") or "").strip(), by=by, screen=SCREEN)
    return t("dispatch.done", lang).format(what=t(f"dispatch.{name}", lang))


@callback(
    Output(ids.DISPATCH_MSG, "children"),
    Output(ids.DISPATCH_REFRESH, "data"),
    Input(ids.dispatch_assign(ALL), "n_clicks"),
    Input(ids.dispatch_release(ALL, ALL), "n_clicks"),
    Input(ids.dispatch_step(ALL), "n_clicks"),
    Input(ids.dispatch_action(ALL), "n_clicks"),
    State(ids.DISPATCH_SELECTED, "data"),
    State(ids.dispatch_field(ALL), "value"),
    State(ids.DISPATCH_REFRESH, "data"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def act(*args: Any) -> tuple:
    """Any button on the incident: assign, release (or replace), lifecycle step, feedback, review,
    cancel, merge. Errors are shown as one line; nothing half-done is left behind."""
    selected, refresh, lang = args[4], args[6], lang_of(args[7], ctx().settings.language)
    trig = panels.clicked()
    if trig is None or not selected:
        return no_update, no_update
    try:
        message = _do_action(selected, trig, lang)
        return panels.message(message, ok=True), (refresh or 0) + 1
    except QingzhiError as exc:
        return panels.message(t("dispatch.error", lang).format(why=exc), ok=False), (refresh or 0) + 1
