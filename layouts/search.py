"""/search — one box over all history (一键查询) and an incident's full trace (全溯源)."""

from __future__ import annotations

from typing import Any

from dash import html, register_page

from dashboard import ids
from dashboard.context import ctx
from dashboard.i18n import lang_of, t
from dashboard.search import components as ui
from dashboard.shell import page_title

register_page(__name__, path="/search", title=page_title("nav.search"), name="search", order=7, nav="nav.search")


def layout(lang: str | None = None, **_: Any) -> html.Div:
    """The page, built in the language of the URL."""
    lang = lang_of(lang, ctx().settings.language)
    return html.Div([
        html.H2(t("search.title", lang), className="au-title"),
        ui.build_box(lang=lang),
        html.Div(id=ids.SEARCH_MSG),
        html.Div([html.Div(id=ids.SEARCH_RESULTS, className="sr-results"),
                  html.Div(id=ids.SEARCH_TRACE, className="sr-trace")], className="sr-main"),
    ], className="au-page sr-page")
