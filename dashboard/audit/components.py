"""The audit page's parts: the search bar and the table."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from dash import dash_table, dcc, html

from dashboard import ids
from dashboard.i18n import t
from dashboard.pickers import date_picker

COLUMNS = ("ts", "actor", "action", "incident", "unit", "screen", "details")
HEADINGS = {"ts": "audit.ts", "actor": "audit.actor", "action": "audit.action_col", "incident": "audit.incident",
            "unit": "audit.unit", "screen": "audit.screen", "details": "audit.details"}


def build_search(*, lang: str) -> html.Div:
    """Actor, action prefix, incident, date range; search and export buttons."""
    def box(id_: str, key: str) -> html.Label:
        return html.Label([t(key, lang), dcc.Input(id=id_, type="text", debounce=True, maxLength=64)])
    return html.Div([
        box(ids.AUDIT_ACTOR, "audit.actor"), box(ids.AUDIT_ACTION, "audit.action"),
        box(ids.AUDIT_INCIDENT, "audit.incident"),
        html.Label([t("audit.from", lang), date_picker(ids.AUDIT_FROM, lang)]),
        html.Label([t("audit.to", lang), date_picker(ids.AUDIT_TO, lang)]),
        html.Button(t("audit.search", lang), id=ids.AUDIT_SEARCH, className="au-btn"),
        html.Button(t("audit.export", lang), id=ids.AUDIT_EXPORT, className="au-btn"),
        dcc.Download(id=ids.AUDIT_DOWNLOAD),
    ], className="au-search")


def build_table(*, lang: str) -> dash_table.DataTable:
    """The entries, newest first (filled by the search callback)."""
    return dash_table.DataTable(
        id=ids.AUDIT_TABLE, data=[], page_size=25, sort_action="native",
        columns=[{"id": c, "name": t(HEADINGS[c], lang)} for c in COLUMNS],
        style_table={"overflowX": "auto"}, style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "4px",
                                                        "textAlign": "left", "maxWidth": 520, "whiteSpace": "normal"},
        style_header={"fontWeight": "600", "backgroundColor": "#eef2f7"})


def table_rows(entries: list[dict[str, Any]], tz: str) -> list[dict[str, str]]:
    """Entries as table rows: local time, details as compact JSON text."""
    zone = ZoneInfo(tz)
    return [{"ts": e["ts"].astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), "actor": e["actor"], "action": e["action"],
             "incident": e["incident"] or "", "unit": e["unit"] or "", "screen": e["screen"] or "",
             "details": json.dumps(e["details"], ensure_ascii=False, default=str) if e["details"] else ""}
            for e in entries]


def day_bounds(start: str | None, end: str | None, tz: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The local days picked as a half-open UTC range (the end day included)."""
    zone = ZoneInfo(tz)
    since = dt.datetime.combine(dt.date.fromisoformat(start), dt.time(), zone) if start else None
    until = dt.datetime.combine(dt.date.fromisoformat(end) + dt.timedelta(days=1), dt.time(), zone) if end else None
    return since, until
