"""Callbacks of /dispatch for the queue and the selected incident: select, redraw after a click,
and the actions (assign, release or replace, lifecycle steps, feedback, review, cancel, merge).

Between clicks the page is kept up to date by assets/js/50_dispatch_stream.js (dispatch/api.py);
these callbacks hand it the tokens of what they drew (DISPATCH_*_SHOWN) so that it pushes only
what changes afterwards. The side panels' callbacks are in panel_callbacks.py.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, no_update

from dashboard import commands, ids
from dashboard.auth.session_cookies import current_actor
from dashboard.callbacks import CallbackSet, clicked
from dashboard.context import ctx
from dashboard.dispatch.components import build_message, build_pin
from dashboard.dispatch.views import SCREEN, detail_view, queue_view
from dashboard.i18n import lang_of, t
from dashboard.inputs import MapPoint
from dashboard.maps import latlng_for_tiles
from qingzhi.core import incident_actions
from qingzhi.errors import QingzhiError

CALLBACKS = CallbackSet("dispatch", "dispatch.view")

# assets/js/50_dispatch_stream.js: start polling once the page's config is there; learn what the
# callbacks below have drawn.
CALLBACKS.clientside("dispatchStart", Output(ids.DISPATCH_STARTED, "children"), Input(ids.DISPATCH_CONFIG, "data"))
# assets/js/62_camera_strips.js: the camera strip shows the selected incident's units
CALLBACKS.clientside("camerasFollow", Output(ids.DISPATCH_CAMERAS_FOLLOW, "title"), Input(ids.DISPATCH_SELECTED, "data"))
CALLBACKS.clientside("dispatchShown", Output(ids.DISPATCH_STARTED, "title"), Input(ids.DISPATCH_QUEUE_SHOWN, "data"),
                     Input(ids.DISPATCH_DETAIL_SHOWN, "data"))
# Its own call, with no input that a callback computes: Dash runs it as soon as the selection changes,
# while dispatchShown waits for both refresh callbacks below, and a live answer must not land in between.
CALLBACKS.clientside("dispatchSelected", Output(ids.DISPATCH_STARTED, "className"), Input(ids.DISPATCH_SELECTED, "data"))


@CALLBACKS.callback(
    Output(ids.DISPATCH_QUEUE, "children"),
    Output(ids.DISPATCH_QUEUE_COUNT, "children"),
    Output(ids.DISPATCH_QUEUE_SHOWN, "data"),
    Input(ids.DISPATCH_REFRESH, "data"),
    Input(ids.DISPATCH_SELECTED, "data"),
    State(ids.LANG, "data"),
)
def refresh_queue(_refresh: int, selected: str | None, lang: str | None) -> tuple:
    """The queue, drawn when the page opens, after an action and when the selection changes."""
    app = ctx()
    view = queue_view(app)
    cards, count = view.render(lang=lang_of(lang, app.settings.language), selected=selected)
    return cards, count, {"token": view.token}


@CALLBACKS.callback(
    Output(ids.DISPATCH_SELECTED, "data"),
    Input(ids.dispatch_incident(ALL, ALL), "n_clicks"),
    prevent_initial_call=True,
)
def select_incident(clicks: list[int | None]) -> str:
    """A click on an incident card (queue or a flag's list) selects it."""
    trig = clicked()
    return trig["id"] if trig else no_update  # None: a card was redrawn, not clicked


@CALLBACKS.callback(
    Output(ids.DISPATCH_HEAD, "children"),
    Output(ids.DISPATCH_UNITS, "children"),
    Output(ids.DISPATCH_RECOMMEND, "children"),
    Output(ids.DISPATCH_ACTIONS, "children"),
    Output(ids.DISPATCH_MAP_LAYER, "children"),
    Output(ids.DISPATCH_MAP, "viewport"),
    Output(ids.DISPATCH_DETAIL_SHOWN, "data"),
    Input(ids.DISPATCH_SELECTED, "data"),
    Input(ids.DISPATCH_REFRESH, "data"),
    State(ids.DISPATCH_DETAIL_SHOWN, "data"),
    State(ids.LANG, "data"),
)
def refresh_detail(selected: str | None, _refresh: int, shown: dict | None, lang: str | None) -> tuple:
    """The selected incident: facts, units and their acks, recommended units, actions, map. The
    actions are redrawn only when other ones become possible (a form being filled in stays as it is)."""
    app, lang, shown = ctx(), lang_of(lang, ctx().settings.language), shown or {}
    view = detail_view(app, selected) if selected else None
    if view is None:
        head = t("dispatch.not_found", lang).format(id=selected) if selected else t("dispatch.select_hint", lang)
        return head, [], [], [], [], no_update, {}
    parts = view.render(lang=lang, settings=app.settings)
    same_actions = shown.get("actions") == view.actions_token
    same_incident = shown.get("incident") == view.incident["id"]
    d = view.incident
    return (
        parts["head"], parts["units"], parts["recommend"],
        no_update if same_actions else view.render_actions(lang=lang),
        parts["layer"],
        no_update if same_incident else {"center": latlng_for_tiles(d["lat"], d["lon"], app.settings), "zoom": 14,
                                          "transition": "flyTo"},
        {"incident": d["id"], "token": view.token, "actions": view.actions_token},
    )


@CALLBACKS.callback(
    Output(ids.DISPATCH_PIN, "children"),
    Input(ids.DISPATCH_CLICK, "data"),
    State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def show_pin(click: MapPoint | None, lang: str | None) -> list:
    """Mark where the new incident being entered is."""
    settings = ctx().settings
    return build_pin(click, lang=lang_of(lang, settings.language), settings=settings)


def _fields() -> dict[str, Any]:
    """Values of the action forms' inputs by name (they exist only in some states)."""
    return {s["id"]["name"]: s.get("value") for s in dash.ctx.states_list[1]}


def _do_action(selected: str, trigger: dict, lang: str) -> str:
    """Carry out the clicked action on the selected incident; returns the message to show."""
    app = ctx()
    actor, kind = current_actor(SCREEN), trigger["type"]
    if kind == ids.DISPATCH_ASSIGN_TYPE:
        cmd = commands.assign(app, actor, selected, trigger["unit"])
        key = "dispatch.assigned_msg" if cmd.published else "dispatch.assigned_unconfirmed"
        return t(key, lang).format(unit=trigger["unit"])
    if kind == ids.DISPATCH_RELEASE_TYPE:
        commands.release(app, actor, selected, trigger["unit"], reason="no_ack" if trigger["next"] else "released")
        if trigger["next"]:
            commands.assign(app, actor, selected, trigger["next"])
            return t("dispatch.assigned_msg", lang).format(unit=trigger["next"])
        return t("dispatch.done", lang).format(what=f"{t('dispatch.release', lang)} {trigger['unit']}")
    if kind == ids.DISPATCH_STEP_TYPE:
        app.db.act(incident_actions.advance, actor, selected, trigger["step"])
        return t("dispatch.done", lang).format(what=t(f"state.{trigger['step']}", lang))
    f = _fields()
    name = trigger["name"]
    if name in ("feedback", "review"):
        rating = f.get("rating")
        app.db.act(incident_actions.record_review, actor, selected, name, result=f.get("result") or "",
                   satisfaction=int(rating) if rating else None, note=f.get("note") or None)
    elif name == "cancel":
        app.db.act(incident_actions.cancel, actor, selected, reason=f.get("reason") or "")
    elif name == "merge":
        app.db.act(incident_actions.merge, actor, selected, (f.get("into") or "").strip())
    elif name == "divert":
        app.db.act(incident_actions.divert, actor, selected, agency=f.get("agency") or "",
                   reason=f.get("divert_reason") or "")
    return t("dispatch.done", lang).format(what=t(f"dispatch.{name}", lang))


@CALLBACKS.callback(
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
    trig = clicked()
    if trig is None or not selected:
        return no_update, no_update
    try:
        message = _do_action(selected, trig, lang)
        return build_message(message, ok=True), (refresh or 0) + 1
    except QingzhiError as exc:
        return build_message(t("dispatch.error", lang).format(why=exc), ok=False), (refresh or 0) + 1
