"""Keyword-only factories for the analysis page's parts (filters, map, tables, panels)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, get_args

from dash import dash_table, dcc, html

from dashboard import ids
from dashboard.i18n import category_label, t, type_label
from dashboard.maps import ANALYSIS_MAP, build_map
from qingzhi.config import Settings

QuickPick = Literal["7", "30", "90", "year"]  # the quick picks, as a type hint the callbacks check
QUICK_PICKS: tuple[str, ...] = get_args(QuickPick)
# A panel whose update takes longer than this shows "updating…" over its (dimmed) old content, so
# a slow update over a year of data reads as work in progress, not a frozen page; faster ones
# show nothing (no flicker).
BUSY_DELAY_MS = 200


def field(label: str, control: Any, css: str = "") -> html.Div:
    """A labelled control."""
    return html.Div([html.Label(label, className="an-label"), control], className=f"an-field {css}".strip())


def build_filter_bar(*, lang: str, options: dict[str, Any], start: date, end: date) -> html.Div:
    """Date range with quick picks, stations, categories, types, priority, comparison, cells, layers."""
    name = "name_zh" if lang == "zh" else "name_en"
    categories = sorted({c for _, c in options["types"]})
    return html.Div([
        field(t("an.dates", lang), html.Div([
            dcc.DatePickerRange(id=ids.AN_DATES, start_date=start, end_date=end, display_format="YYYY-MM-DD",
                                first_day_of_week=1, minimum_nights=0),
            dcc.RadioItems(id=ids.AN_QUICK, options=[{"label": t(f"an.quick.{k}", lang), "value": k}
                                                     for k in QUICK_PICKS],
                           value="30", inline=True, className="an-quick"),
        ])),
        field(t("an.stations", lang), dcc.Dropdown(
            id=ids.AN_STATIONS, multi=True, placeholder=t("an.all", lang),
            options=[{"label": s[name], "value": s["id"]} for s in options["stations"]]), css="an-wide"),
        field(t("an.categories", lang), dcc.Dropdown(
            id=ids.AN_CATEGORIES, multi=True, placeholder=t("an.all", lang),
            options=[{"label": category_label(c, lang), "value": c} for c in categories]), css="an-wide"),
        field(t("an.types", lang), dcc.Dropdown(
            id=ids.AN_TYPES, multi=True, placeholder=t("an.all", lang),
            options=[{"label": type_label(ty, lang), "value": ty} for ty, _ in options["types"]]), css="an-wide"),
        field(t("an.priorities", lang), dcc.Checklist(
            id=ids.AN_PRIORITIES, inline=True, value=[],
            options=[{"label": t(f"priority.{p}", lang), "value": p} for p in (1, 2, 3, 4)])),
        field(t("an.compare", lang), dcc.RadioItems(
            id=ids.AN_COMPARE, inline=True, value="previous",
            options=[{"label": t(f"an.cmp.{k}", lang), "value": k} for k in ("previous", "last_year")])),
        dcc.Store(id=ids.AN_FILTERS),
    ], className="an-filters")


def build_map_panel(*, lang: str, settings: Settings) -> html.Section:
    """The hotspot map: cell counts, KDE heat overlay, Gi* outlines; resolution and layer switches."""
    return html.Section([
        html.Div([
            html.H3(t("an.hotspots", lang)),
            field(t("an.res", lang), dcc.Dropdown(
                id=ids.AN_RES, value="auto", clearable=False, searchable=False,
                options=[{"label": t(f"an.res.{k}", lang), "value": k} for k in ("auto", "8", "9", "10")]),
                css="an-res"),
            dcc.Checklist(id=ids.AN_LAYERS, inline=True, value=["hex", "gi"],
                          options=[{"label": t(f"an.layer.{k}", lang), "value": k} for k in ("hex", "kde", "gi")]),
        ], className="an-panel-head"),
        busy(lang, build_map(config=ANALYSIS_MAP, settings=settings, lang=lang),
             html.Div(id=ids.AN_MAP_NOTE, className="an-note")),
        html.P(id=ids.AN_AREA, className="an-note an-area"),
    ], className="an-panel an-map-panel")


def build_table(*, table_id: str, csv: str, lang: str, page_size: int = 10, clickable: bool = False) -> html.Div:
    """A DataTable with a CSV download button under it."""
    return html.Div([
        dash_table.DataTable(
            id=table_id, data=[], columns=[], page_size=page_size, sort_action="native",
            style_table={"overflowX": "auto"}, style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "4px"},
            style_header={"fontWeight": "600", "backgroundColor": "#eef2f7"},
            cell_selectable=clickable),
        html.Button(t("an.csv", lang), id=ids.an_csv_button(csv), className="an-csv"),
    ], className="an-table")


def busy(lang: str, *children: Any) -> dcc.Loading:
    """The children, with an "updating…" overlay while any of them waits for a slow update."""
    return dcc.Loading(list(children), delay_show=BUSY_DELAY_MS, parent_className="an-busy-wrap",
                       overlay_style={"visibility": "visible", "opacity": 0.45},
                       custom_spinner=html.Div(t("an.updating", lang), className="an-busy"))


def build_panel(*, title: str, children: list[Any], css: str = "") -> html.Section:
    """A titled panel."""
    return html.Section([html.H3(title), *children], className=f"an-panel {css}".strip())


def graph(graph_id: str, filename: str) -> dcc.Graph:
    """A plotly chart whose camera button saves a PNG named `filename`."""
    return dcc.Graph(id=graph_id, config={"displaylogo": False, "toImageButtonOptions": {
        "format": "png", "filename": filename, "scale": 2}}, className="an-graph")


def columns(keys: list[str], lang: str, labels: dict[str, str] | None = None) -> list[dict[str, str]]:
    """DataTable columns for these row keys, titled in the page language."""
    labels = labels or {}
    return [{"id": k, "name": labels.get(k) or t(f"an.col.{k}", lang)} for k in keys]
