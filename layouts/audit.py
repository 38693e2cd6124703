"""/audit — the audit log for admins: who did what, when, searchable and exportable."""

from __future__ import annotations

from typing import Any

from dash import html, register_page

from dashboard import ids
from dashboard.audit import components as ui
from dashboard.context import ctx
from dashboard.i18n import lang_of, t
from dashboard.shell import page_title

register_page(__name__, path="/audit", title=page_title("nav.audit"), name="audit", order=4, nav="nav.audit")


def layout(lang: str | None = None, **_: Any) -> html.Div:
    """The page, built in the language of the URL."""
    lang = lang_of(lang, ctx().settings.language)
    return html.Div([
        html.H2(t("audit.title", lang), className="au-title"),
        ui.build_search(lang=lang),
        html.Div(id=ids.AUDIT_COUNT, className="au-count"),
        ui.build_table(lang=lang),
    ], className="au-page")
