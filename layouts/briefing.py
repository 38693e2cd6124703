"""/briefing — the review (日研判、周会商、月调度): the briefing of a day, week, month or range,
against the previous period and last year, its exports, and the meeting's tasks."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from dash import html, register_page

from dashboard import ids
from dashboard.auth.session_cookies import current_actor
from dashboard.briefing import components as ui
from dashboard.context import ctx
from dashboard.i18n import lang_of
from dashboard.shell import page_title
from qingzhi.core.access import allowed, scope
from qingzhi.core.briefing.build import station_names

register_page(__name__, path="/briefing", title=page_title("nav.briefing"),
              name="briefing", order=5, nav="nav.briefing")


def layout(lang: str | None = None, day: str | None = None, kind: str | None = None, **_: Any) -> html.Div:
    """The page, built in the language of the URL; yesterday's briefing first, or the `day` and
    `kind` (day, week, month) the URL names (a link to a briefing)."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    actor = current_actor("briefing")
    stations = app.db.run(station_names, scope(actor))
    yesterday = dt.datetime.now(ZoneInfo(app.settings.timezone)).date() - dt.timedelta(days=1)
    try:
        chosen = dt.date.fromisoformat(day or "")
    except ValueError:
        chosen = yesterday  # a mangled link shows yesterday rather than an error page
    parts = [ui.build_controls(lang=lang, stations=stations, day=chosen,
                               kind=kind if kind in ("day", "week", "month") else "day"),
             html.Div(id=ids.BRIEF_ERROR, className="bf-error")]
    if allowed(actor, "briefing.act"):
        parts.append(ui.build_task_form(lang=lang, stations=stations, day=yesterday))
    # on every page, tasks or not: the briefing's own callback listens to it (a callback with an input
    # missing from the page never runs: an analyst's briefing never showed)
    parts.append(html.Div(id=ids.BRIEF_TASK_MSG, className="bf-msg"))
    parts.append(html.Div(id=ids.BRIEF_BODY, className="bf-body"))
    return html.Div(parts, className="bf-page")
