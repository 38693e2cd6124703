"""The duty page's callbacks: set a level, (re)compute the plan, apply the ticked moves, follow the acks.

Each gathers input and calls a core action with the logged-in person (qingzhi.core.levels,
qingzhi.core.redeploy); the CallbackSet's permission is checked by the gate first, the action's own after.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from dash import ALL, Input, Output, State, ctx as dash_ctx, html, no_update

from dashboard import commands, ids
from dashboard.auth.session_cookies import current_actor
from dashboard.callbacks import CallbackSet
from dashboard.context import ctx
from dashboard.duty import queries
from dashboard.inputs import SentCommand
from dashboard.duty.components import (
    build_levels, build_presence, build_sent, build_suggestions, move_options, pct, recall_options,
)
from dashboard.formats import fmt_time
from dashboard.i18n import lang_of, t
from dashboard.maps import for_tiles
from qingzhi.core import levels, presence, redeploy, suggestions
from qingzhi.core.access import allowed, scope
from qingzhi.core.dispatch_config import load_config
from qingzhi.core.hotspot_visits import hotspot_visits
from qingzhi.core.response_plan import load_plan
from qingzhi.core.roads import road_times
from qingzhi.errors import QingzhiError

CALLBACKS = CallbackSet("duty", "duty.view")
SCREEN = "duty"
MAX_SENT_SHOWN = 200


@CALLBACKS.callback(Output(ids.DUTY_TARGET, "options"), Output(ids.DUTY_TARGET, "value"),
                    Output(ids.DUTY_TARGET, "disabled"), Input(ids.DUTY_SCOPE, "value"))
def target_options(scope_name: str | None) -> tuple[list[str], None, bool]:
    """The stations or zones in the person's scope; none for the district."""
    if scope_name not in ("station", "zone"):
        return [], None, True
    found = ctx().db.run(queries.targets, scope(current_actor(SCREEN)))
    return found[scope_name], None, False


@CALLBACKS.callback(
    Output(ids.DUTY_SET_MSG, "children"), Output(ids.DUTY_VERSION, "data"),
    Input(ids.DUTY_SET, "n_clicks"),
    State(ids.DUTY_SCOPE, "value"), State(ids.DUTY_TARGET, "value"), State(ids.DUTY_LEVEL, "value"),
    State(ids.DUTY_REASON, "value"), State(ids.DUTY_HOURS, "value"), State(ids.DUTY_VERSION, "data"),
    State(ids.LANG, "data"), prevent_initial_call=True,
)
def set_level(clicks: int, scope_name: str, target: str | None, level: str, reason: str | None, hours: Any,
              version: int, lang: str | None) -> tuple[str, Any]:
    """Set the level as the logged-in person; a refusal or bad input is shown, nothing changes."""
    lang = lang_of(lang, ctx().settings.language)
    try:
        until = None
        if hours not in (None, ""):
            h = float(hours)
            if not 0 < h <= levels.MAX_HOURS:
                raise QingzhiError(f"hours must be between 0 and {levels.MAX_HOURS}")
            until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=h)
        done = ctx().db.act(levels.set_level, current_actor(SCREEN), scope=scope_name, target=target, level=level,
                            reason=reason or "", until=until)
    except (QingzhiError, ValueError, TypeError) as exc:
        return t("duty.error", lang).format(error=exc), no_update
    where = t(f"duty.scope.{scope_name}", lang) + (f" {done['target']}" if done["target"] else "")
    return t("duty.set_ok", lang).format(where=where, level=done["level"]), (version or 0) + 1


@CALLBACKS.callback(
    Output(ids.DUTY_MOVES, "options"), Output(ids.DUTY_MOVES, "value"), Output(ids.DUTY_MOVES_LAYER, "data"),
    Output(ids.DUTY_ZONES, "data"), Output(ids.DUTY_SHORT, "children"), Output(ids.DUTY_TOTALS, "children"),
    Output(ids.DUTY_LEVELS, "children"), Output(ids.DUTY_SUGGESTIONS, "children"),
    Output(ids.DUTY_RECALLS, "options"), Output(ids.DUTY_RECALLS, "value"),
    Input(ids.DUTY_REFRESH, "n_clicks"), Input(ids.DUTY_VERSION, "data"), Input(ids.LANG, "data"),
)
def refresh(_: int, __: int, lang: str | None) -> tuple[Any, ...]:
    """The plan for the levels in force (every move ticked), its lines on the map, what stays short."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    actor = current_actor(SCREEN)

    async def gather(conn: Any) -> tuple[Any, ...]:
        cfg = await load_config(conn)
        roads = road_times(cfg.roads, app.settings.center_latlon, app.settings.data_dir)
        plan = await redeploy.build_plan(actor, conn, response=load_plan(app.settings.response_plan), cfg=cfg,
                                         roads=roads, today=dt.datetime.now(ZoneInfo(app.settings.timezone)).date())
        return (plan.as_dict(), await queries.zone_features(conn, scope(actor)), await levels.list_levels(actor, conn),
                await suggestions.open_suggestions(actor, conn), await queries.place_names(conn, lang))

    out, zones, in_force, open_, names = app.db.run(gather)
    opts = move_options(out["moves"], lang, names["zone"])

    def named(row: dict[str, Any]) -> dict[str, Any]:
        """The row with its zone and station by name."""
        return {**row, "zone": names["zone"].get(row["zone"], row["zone"]),
                "station": names["station"].get(row["station"], row["station"])}
    short = [t("duty.short", lang).format(**named(s)) for s in out["shortfalls"]]
    short += [t("duty.hotspot_short", lang).format(**named(h)) for h in out["hotspot_shortfalls"]]
    tot = out["totals"]
    totals = (t("duty.totals", lang).format(moves=tot["moves"], minutes=tot["eta_s"] / 60, short=tot["short"],
                                            spots=tot["hotspot_moves"], uncovered=tot["hotspots_uncovered"],
                                            ms=tot["solve_ms"]) if out["moves"] or short else t("duty.nothing", lang))
    street = out["street"]
    if street["share"] is not None:
        totals = [totals, html.Div(t("duty.street", lang).format(
            on=street["on_street"], of=street["on_duty"], share=pct(street["share"]), required=pct(street["required"])),
            className="duty-street" + ("" if street["met"] else " short"))]
    return (opts, [o["value"] for o in opts], for_tiles(queries.move_features(out["moves"]), app.settings),
            for_tiles(zones, app.settings),
            [html.Div(s, className="duty-short-line") for s in short], totals,
            build_levels(in_force, lang=lang, tz_fmt=lambda ts: fmt_time(ts, app.settings.timezone, with_date=True)),
            build_suggestions(open_, lang=lang, can_act=allowed(actor, "duty.act"), names=names),
            recall_options(out["recalls"], lang=lang), [r["unit"] for r in out["recalls"]])


@CALLBACKS.callback(
    Output(ids.DUTY_SUGG_MSG, "children"), Output(ids.DUTY_VERSION, "data", allow_duplicate=True),
    Input(ids.duty_suggestion(ALL, ALL), "n_clicks"), State(ids.DUTY_VERSION, "data"), State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def decide(clicks: list[int | None], version: int, lang: str | None) -> tuple[str, Any]:
    """Accept or dismiss the suggestion whose button was pressed (qingzhi.core.suggestions.decide checks who may)."""
    lang = lang_of(lang, ctx().settings.language)
    pressed = dash_ctx.triggered_id
    if not isinstance(pressed, dict) or not any(clicks or []):
        return no_update, no_update
    try:
        done = ctx().db.act(suggestions.decide, current_actor(SCREEN), int(pressed["id"]), pressed["action"] == "accept")
    except (QingzhiError, ValueError, TypeError) as exc:
        return t("duty.error", lang).format(error=exc), no_update
    if "dismissed" in done:
        return t("duty.dismissed", lang), (version or 0) + 1
    where = t(f"duty.scope.{done['scope']}", lang) + (f" {done['target']}" if done["target"] else "")
    return t("duty.accepted", lang).format(where=where, level=done["level"]), (version or 0) + 1


@CALLBACKS.callback(
    Output(ids.DUTY_PRESENCE, "children"),
    Input(ids.DUTY_REFRESH, "n_clicks"), Input(ids.DUTY_VERSION, "data"), Input(ids.LANG, "data"),
)
def show_presence(_: int, __: int, lang: str | None) -> Any:
    """Presence and fulfilment this shift, from position history (qingzhi.core.presence)."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    plan = load_plan(app.settings.response_plan)
    start = plan.shift_start(dt.datetime.now(dt.UTC), app.settings.timezone)
    stations = scope(current_actor(SCREEN))
    today = dt.datetime.now(ZoneInfo(app.settings.timezone)).date()

    async def gather(conn: Any) -> tuple[dict, list, dict]:
        return (await presence.live_coverage(conn, plan, start, stations),
                await hotspot_visits(conn, plan, stations, today), await queries.place_names(conn, lang))

    coverage, spots, names = app.db.run(gather)
    return build_presence(coverage, spots, lang=lang, zone_names=names["zone"])


@CALLBACKS.callback(
    Output(ids.DUTY_APPLY_MSG, "children"), Output(ids.DUTY_SENT, "data"),
    Input(ids.DUTY_APPLY, "n_clicks"), State(ids.DUTY_MOVES, "value"), State(ids.DUTY_SENT, "data"),
    State(ids.LANG, "data"), prevent_initial_call=True,
)
def apply(clicks: int, ticked: list[str] | None, sent: list[SentCommand] | None, lang: str | None) -> tuple[str, Any]:
    """Send one patrol command per ticked move; the server re-checks every move."""
    lang = lang_of(lang, ctx().settings.language)
    moves = [tuple(parts) for parts in (str(v).split("|") for v in ticked or []) if len(parts) in (2, 3)]
    if not moves:  # a click with nothing ticked says so rather than nothing
        return t("duty.none_ticked", lang), no_update
    try:
        results = commands.apply_moves(ctx(), current_actor(SCREEN), moves)
    except QingzhiError as exc:
        return t("duty.error", lang).format(error=exc), no_update
    ok = sum("command" in r for r in results)
    return (t("duty.apply_ok", lang).format(sent=ok, refused=len(results) - ok),
            (results + (sent or []))[:MAX_SENT_SHOWN])


@CALLBACKS.callback(
    Output(ids.DUTY_APPLY_MSG, "children", allow_duplicate=True), Output(ids.DUTY_SENT, "data", allow_duplicate=True),
    Output(ids.DUTY_VERSION, "data", allow_duplicate=True),
    Input(ids.DUTY_RECALL, "n_clicks"), State(ids.DUTY_RECALLS, "value"), State(ids.DUTY_SENT, "data"),
    State(ids.DUTY_VERSION, "data"), State(ids.LANG, "data"), prevent_initial_call=True,
)
def recall(clicks: int, ticked: list[str] | None, sent: list[SentCommand] | None, version: int,
           lang: str | None) -> tuple[str, Any, Any]:
    """Send `recall` to each ticked unit; the core checks each is the actor's to command."""
    lang = lang_of(lang, ctx().settings.language)
    units = [str(u) for u in ticked or [] if u]
    if not units:
        return t("duty.none_ticked", lang), no_update, no_update
    try:
        results = commands.recall_units(ctx(), current_actor(SCREEN), units)
    except QingzhiError as exc:
        return t("duty.error", lang).format(error=exc), no_update, no_update
    ok = sum("command" in r for r in results)
    return (t("duty.apply_ok", lang).format(sent=ok, refused=len(results) - ok),
            (results + (sent or []))[:MAX_SENT_SHOWN], (version or 0) + 1)


@CALLBACKS.callback(
    Output(ids.DUTY_SENT_TABLE, "children"), Input(ids.DUTY_TICK, "n_intervals"), Input(ids.DUTY_SENT, "data"),
    State(ids.LANG, "data"),
)
def follow_acks(_: int | None, sent: list[SentCommand] | None, lang: str | None) -> Any:
    """The commands sent from this page and whether each is acknowledged yet."""
    if not sent:
        return None
    lang = lang_of(lang, ctx().settings.language)
    cmd_ids = [str(r["command"]) for r in sent if r.get("command")][:MAX_SENT_SHOWN]
    acked = ctx().db.run(queries.command_states, cmd_ids, scope(current_actor(SCREEN)))
    return build_sent(sent[:MAX_SENT_SHOWN], acked, lang=lang)

