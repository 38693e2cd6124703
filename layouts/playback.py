"""/playback — where everybody was: the tracks of chosen units (or all, or those in the map's view)
over a window, played on the map with a time slider and speed; incidents appear when received,
units are coloured by their status, long stops are marked."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from dash import html, register_page

from dashboard.briefing import playback_parts as ui
from dashboard.context import ctx
from dashboard.i18n import lang_of
from dashboard.shell import page_title

register_page(__name__, path="/playback", title=page_title("nav.playback"),
              name="playback", order=6, nav="nav.playback")


def layout(lang: str | None = None, day: str | None = None, **_: Any) -> html.Div:
    """The page, built in the language of the URL; yesterday's day shift first, or the `day` the URL names."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    try:
        chosen = dt.date.fromisoformat(day or "")
    except ValueError:
        chosen = dt.datetime.now(ZoneInfo(app.settings.timezone)).date() - dt.timedelta(days=1)
    return html.Div([ui.build_bar(lang=lang, day=chosen), ui.build_player(lang=lang, settings=app.settings)],
                    className="bf-page")
