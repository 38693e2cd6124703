"""The briefing page's parts: the period bar, the task form, and the briefing itself as Dash
components (the same tables, summary and charts as the exports)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.briefing import charts, tables
from dashboard.briefing.basemap import Basemap
from dashboard.briefing.document import SECTIONS
from dashboard.briefing.names import scope_label
from dashboard.briefing.summary import summary
from dashboard.i18n import t
from dashboard.pickers import date_picker
from qingzhi.core.stations import local_name
from qingzhi.core.briefing.period import KINDS

ALL = ""  # the station dropdown's "every station in scope"


def build_controls(*, lang: str, stations: list[dict[str, str]], day: dt.date, kind: str = "day") -> html.Div:
    """Period kind, day (and last day of a range), station, show and export buttons."""
    options = [{"label": t("brief.scope_all", lang), "value": ALL}] + [
        {"label": f"{s['id']} · {local_name(s, lang)}", "value": s["id"]} for s in stations]
    return html.Div([
        html.Label([t("brief.kind", lang), dcc.RadioItems(
            id=ids.BRIEF_KIND, value=kind, inline=True,
            options=[{"label": t(f"brief.kind.{k}", lang), "value": k} for k in KINDS])]),
        html.Label([t("brief.day", lang), date_picker(ids.BRIEF_DAY, lang, day.isoformat())]),
        html.Label([t("brief.to", lang), date_picker(ids.BRIEF_TO, lang)]),
        html.Label([t("brief.station", lang), dcc.Dropdown(id=ids.BRIEF_STATION, options=options, value=ALL,
                                                           clearable=False, style={"width": 220})]),
        html.Button(t("brief.show", lang), id=ids.BRIEF_SHOW, className="bf-btn"),
        html.Button(t("brief.export_html", lang), id=ids.BRIEF_EXPORT_HTML, className="bf-btn bf-alt"),
        html.Button(t("brief.export_pdf", lang), id=ids.BRIEF_EXPORT_PDF, className="bf-btn bf-alt"),
        html.Button(t("brief.export_csv", lang), id=ids.BRIEF_EXPORT_CSV, className="bf-btn bf-alt"),
        dcc.Loading(html.Div([dcc.Download(id=ids.BRIEF_DOWNLOAD), html.Span(id=ids.BRIEF_EXPORT_STATUS)]),
                    type="circle", overlay_style={"visibility": "visible"},
                    custom_spinner=html.Span(t("brief.exporting", lang), className="bf-progress")),
    ], className="bf-controls")


def build_task_form(*, lang: str, stations: list[dict[str, str]], day: dt.date) -> html.Div:
    """A new meeting task: what, for which station and officer, by when (default: a week from
    today, `day` being yesterday); and the result box for marking a listed task done."""
    def field(key: str, control: Any) -> html.Label:
        return html.Label([t(key, lang), control])
    return html.Div([
        html.H3(t("brief.task.new", lang)),
        field("brief.task.title", dcc.Input(id=ids.BRIEF_TASK_TITLE, maxLength=200, type="text", className="bf-wide")),
        field("brief.col.station", dcc.Dropdown(
            id=ids.BRIEF_TASK_STATION, options=[{"label": local_name(s, lang), "value": s["id"]} for s in stations],
            placeholder=t("brief.scope_all", lang), style={"width": 160})),
        field("brief.col.officer", dcc.Input(id=ids.BRIEF_TASK_OFFICER, maxLength=64, type="text", className="bf-mid")),
        field("brief.col.deadline", date_picker(
            ids.BRIEF_TASK_DEADLINE, lang, (day + dt.timedelta(days=8)).isoformat())),
        html.Button(t("brief.task.create", lang), id=ids.BRIEF_TASK_CREATE, className="bf-btn"),
        field("brief.col.result", dcc.Input(id=ids.BRIEF_TASK_RESULT, maxLength=500, type="text", className="bf-wide")),
    ], className="bf-task-form")


def table_component(table: tables.Table, lang: str, *, done_buttons: list[int] | None = None,
                    label: str = "") -> html.Table:
    """A table of the briefing (optionally with a "mark done" button per row for open tasks)."""
    def td(v: tables.Cell) -> html.Td:
        num = isinstance(v, int | float) and not isinstance(v, bool)
        return html.Td(tables.cell(v, lang), className="num" if num else None)
    head = [html.Th(c) for c in table.columns] + ([html.Th("")] if done_buttons is not None else [])
    rows = []
    for i, row in enumerate(table.rows):
        cells = [td(v) for v in row]
        if done_buttons is not None:
            task = done_buttons[i]
            cells.append(html.Td(html.Button(label, id=ids.brief_task_done(task), className="bf-small"))
                         if task else html.Td(""))
        rows.append(html.Tr(cells))
    return html.Table([html.Thead(html.Tr(head)), html.Tbody(rows)], className="bf-table")


def build_briefing(b: dict[str, Any], lang: str, tz: str, *, can_act: bool, basemap: Basemap | None = None) -> list[Any]:
    """The briefing: title, summary, charts (the map of calls on the basemap's streets, if any) and every
    section's tables."""
    period = b["period"]
    scope = scope_label(b, lang)
    all_t = tables.all_tables(b, lang, tz)
    out: list[Any] = [
        html.H2(t("brief.title", lang).format(label=f"{period.label} · {scope}"), className="bf-title"),
        html.P(t("brief.compared", lang).format(prev=b["previous"].label, yoy=b["last_year"].label), className="bf-meta"),
        html.Section([html.H3(t("brief.sec.summary", lang))] + [html.P(p) for p in summary(b, lang)],
                     id=ids.BRIEF_SUMMARY),
        html.Div([dcc.Graph(figure=f.update_layout(width=None), config={"displayModeBar": False}, className="bf-chart")
                  for f in charts.figures(b, lang, basemap).values()], className="bf-charts"),
    ]
    for sec, names in SECTIONS:
        parts: list[Any] = [html.H3(t(f"brief.sec.{sec}", lang))]
        for n in names:
            if n == "tasks" and can_act:
                open_ids = [r["id"] if r["status"] != "done" else 0 for r in b["tasks"]]
                parts.append(table_component(all_t[n], lang, done_buttons=open_ids, label=t("brief.task.complete", lang)))
            else:
                parts.append(table_component(all_t[n], lang))
        out.append(html.Section(parts, id=ids.brief_section(sec)))
    return out
