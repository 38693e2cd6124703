"""/analysis — the "three highs" (三高): hotspot areas, peak hours and frequent types.

Every panel reads the normalised filters from one store and updates on its own
(dashboard/analysis/callbacks.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dash import dcc, html, register_page

from dashboard import ids
from dashboard.analysis import components as ui
from dashboard.context import ctx
from dashboard.analysis import queries as q
from dashboard.i18n import lang_of, t
from dashboard.shell import page_title

register_page(__name__, path="/analysis", title=page_title("nav.analysis"),
              name="analysis", order=2, nav="nav.analysis")


def _today() -> date:
    return datetime.now(ZoneInfo(ctx().settings.timezone)).date()


def layout(lang: str | None = None, **_: Any) -> html.Div:
    """The page, built in the language of the URL."""
    settings = ctx().settings
    lang = lang_of(lang, settings.language)
    ctx().db.run(q.ensure_fresh, settings.timezone)  # so that the filters offer the newest types and days
    opts = ctx().db.run(q.options)
    anchor = min(_today(), opts["last"]) if opts["last"] else _today()
    return html.Div([
        html.H2(t("an.title", lang), className="an-title"),
        ui.build_filter_bar(lang=lang, options=opts, start=anchor - timedelta(days=29), end=anchor),
        dcc.Store(id=ids.AN_ANCHOR, data=anchor.isoformat()),
        html.Div(id=ids.AN_ERROR, className="an-error"),
        html.Div([
            ui.build_map_panel(lang=lang, settings=settings),
            ui.build_panel(title=t("an.top", lang), css="an-top-panel", children=[
                ui.busy(lang, ui.build_table(table_id=ids.AN_TOP, csv="top", lang=lang, clickable=True))]),
        ], className="an-row"),
        html.Div([
            ui.build_panel(title=t("an.peak", lang), children=[
                ui.field(t("an.focus", lang), dcc.Dropdown(id=ids.AN_FOCUS, value="all", clearable=False,
                                                                     options=[{"label": t("an.focus.all", lang),
                                                                               "value": "all"}])),
                ui.busy(lang, ui.graph(ids.AN_HEAT, "peak-hours"), html.P(id=ids.AN_PEAK, className="an-note"))]),
            ui.build_panel(title=t("an.freq", lang), children=[
                dcc.RadioItems(id=ids.AN_TYPES_BY, value="type", inline=True,
                               options=[{"label": t("an.by.type", lang), "value": "type"},
                                        {"label": t("an.by.category", lang), "value": "category"}]),
                ui.busy(lang, ui.graph(ids.AN_PARETO, "frequent-types"),
                        ui.build_table(table_id=ids.AN_TYPES_TABLE, csv="types", lang=lang, page_size=8))]),
        ], className="an-row"),
        html.Div([
            ui.build_panel(title=t("an.summary", lang), css="an-summary-panel", children=[
                ui.busy(lang, html.Div([html.P(id=ids.AN_SUMMARY, className="an-summary"),
                                        dcc.Clipboard(id=ids.AN_SUMMARY_COPY, target_id=ids.AN_SUMMARY,
                                                      title=t("an.copy", lang), className="an-copy")],
                                       className="an-summary-box"),
                        ui.build_table(table_id=ids.AN_SUMMARY_TABLE, csv="summary", lang=lang))]),
            ui.build_panel(title=t("an.quality", lang), children=[
                html.P(t("an.quality.note", lang), className="an-note"),
                html.Button(t("an.quality.run", lang), id=ids.AN_QUALITY_RUN, className="an-csv"),
                html.P(t("an.quality.press", lang), id=ids.AN_QUALITY_STATE, className="an-note"),
                ui.busy(lang, ui.build_table(table_id=ids.AN_QUALITY, csv="quality", lang=lang, page_size=12))]),
        ], className="an-row"),
        ui.build_panel(title=t("an.cell", lang), children=[
            html.P(t("an.cell.hint", lang), id=ids.AN_CELL_TITLE, className="an-note"),
            ui.busy(lang, ui.build_table(table_id=ids.AN_CELL, csv="cell", lang=lang, page_size=10))]),
        ui.build_panel(title=t("an.outside", lang), children=[
            html.P(id=ids.AN_OUTSIDE_TITLE, className="an-note"),
            ui.busy(lang, ui.build_table(table_id=ids.AN_OUTSIDE, csv="outside", lang=lang, page_size=10))]),
        dcc.Download(id=ids.AN_DOWNLOAD),
    ], className="an-page")
