"""The search page's callbacks: search (qingzhi.core.search.search) and open a trace (search.trace),
both as the logged-in person, who needs `search.view` and sees only their stations."""

from __future__ import annotations

from dash import ALL, Input, Output, State, html, no_update

from dashboard import ids
from dashboard.audit.components import day_bounds
from dashboard.auth.session_cookies import current_actor
from dashboard.callbacks import CallbackSet, clicked
from dashboard.context import ctx
from dashboard.i18n import lang_of, t
from dashboard.search.components import build_results, build_trace
from dashboard.stations import station_names
from qingzhi.core import search as core
from qingzhi.errors import QingzhiError

CALLBACKS = CallbackSet("search", "search.view")
SCREEN = "search"
LIMIT = 200


@CALLBACKS.callback(
    Output(ids.SEARCH_RESULTS, "children"), Output(ids.SEARCH_MSG, "children"),
    Input(ids.SEARCH_GO, "n_clicks"), Input(ids.SEARCH_TEXT, "value"),
    State(ids.SEARCH_FROM, "date"), State(ids.SEARCH_TO, "date"), State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def run_search(_: int | None, text: str | None, start: str | None, end: str | None, lang: str | None) -> tuple:
    """The incidents matching the box within the days picked."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    if not (text or "").strip():
        return [], ""
    try:
        since, until = day_bounds(start, end, app.settings.timezone)
        rows = app.db.act(core.search, current_actor(SCREEN), text, caller_key=app.settings.caller_key or "",
                          since=since, until=until, limit=LIMIT)
    except (QingzhiError, ValueError) as exc:
        return no_update, html.Div(t("search.error", lang).format(why=exc), className="dp-msg err")
    return build_results(rows, lang=lang, tz=app.settings.timezone, limit=LIMIT,
                         names=station_names(app.db, lang)), ""


@CALLBACKS.callback(
    Output(ids.SEARCH_TRACE, "children"),
    Input(ids.search_result(ALL), "n_clicks"), State(ids.LANG, "data"),
    prevent_initial_call=True,
)
def open_trace(_: list, lang: str | None) -> list:
    """The clicked incident's full trace."""
    trig = clicked()
    if trig is None:
        return no_update
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    try:
        found = app.db.act(core.trace, current_actor(SCREEN), trig["id"])
    except QingzhiError as exc:
        return [html.Div(t("search.error", lang).format(why=exc), className="dp-msg err")]
    return build_trace(found, lang=lang, tz=app.settings.timezone)
