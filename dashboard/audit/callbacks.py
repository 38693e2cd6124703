"""The audit page's callbacks: search, and export as CSV (formula cells neutralised; the export audited)."""

from __future__ import annotations

import csv
import io
from typing import Any

import asyncpg
from dash import Input, Output, State, no_update

from dashboard import ids
from dashboard.audit.components import COLUMNS, day_bounds, table_rows
from dashboard.auth.session_cookies import current_actor
from dashboard.callbacks import CallbackSet
from dashboard.context import ctx
from dashboard.i18n import lang_of, t
from dashboard.inputs import Day
from qingzhi.core import audit
from qingzhi.core.access import require
from qingzhi.core.safe_output import csv_cell

CALLBACKS = CallbackSet("audit", "audit.view")
MAX_ROWS = 2000       # entries the table shows
EXPORT_MAX = 100_000  # entries one download takes (`qingzhi audit --export` takes any number)
FILTERS = [State(i, "value") for i in (ids.AUDIT_ACTOR, ids.AUDIT_ACTION, ids.AUDIT_INCIDENT)] + [
    State(ids.AUDIT_FROM, "date"), State(ids.AUDIT_TO, "date")]


def _filters(actor: str | None, action: str | None, incident: str | None, start: str | None,
             end: str | None) -> dict[str, Any]:
    since, until = day_bounds(start, end, ctx().settings.timezone)
    return {"actor": (actor or "").strip(), "action": (action or "").strip(),
            "incident": (incident or "").strip() or None, "since": since, "until": until}


@CALLBACKS.callback(
    Output(ids.AUDIT_TABLE, "data"), Output(ids.AUDIT_COUNT, "children"),
    Input(ids.AUDIT_SEARCH, "n_clicks"), *FILTERS, State(ids.LANG, "data"),
)
def search(_: int | None, actor: str | None, action: str | None, incident: str | None, start: Day | None,
           end: Day | None, lang: str | None) -> tuple[list, str]:
    """The entries matching the filters, newest first."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    require(current_actor("audit"), "audit.view")
    found = app.reads.run(audit.search, limit=MAX_ROWS, **_filters(actor, action, incident, start, end))
    rows = table_rows(found, app.settings.timezone)
    return rows, t("audit.count", lang).format(n=len(rows), max=MAX_ROWS)


async def _at_most(conn: asyncpg.Connection, most: int, filters: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Every matching entry, oldest first, or None when there are more than `most`."""
    found: list[dict[str, Any]] = []
    async for page in audit.pages(conn, **filters):
        found += page
        if len(found) > most:
            return None
    return found


@CALLBACKS.callback(
    Output(ids.AUDIT_DOWNLOAD, "data"), Output(ids.AUDIT_COUNT, "children", allow_duplicate=True),
    Input(ids.AUDIT_EXPORT, "n_clicks"), *FILTERS, State(ids.LANG, "data"), prevent_initial_call=True,
)
def export(clicks: int | None, actor: str | None, action: str | None, incident: str | None, start: Day | None,
           end: Day | None, lang: str | None) -> tuple[Any, str]:
    """Every matching entry as CSV, oldest first, read a page at a time; the export itself goes into the log.
    More than EXPORT_MAX is refused with a word on how to get them (a page download is held in memory)."""
    if not clicks:
        return no_update, no_update
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    who = current_actor("audit")
    require(who, "audit.view")
    filters = _filters(actor, action, incident, start, end)
    found = app.reads.run(_at_most, EXPORT_MAX, filters)
    if found is None:
        return no_update, t("audit.too_many", lang).format(max=EXPORT_MAX)
    rows = table_rows(found, app.settings.timezone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows([csv_cell(r[c]) for c in COLUMNS] for r in rows)
    app.db.act(audit.export, who, "audit", len(rows),
               {"actor": actor, "action": action, "incident": incident, "from": start, "to": end})
    return ({"content": "\ufeff" + out.getvalue(), "filename": "qingzhi-audit.csv", "type": "text/csv"},
            t("audit.exported", lang).format(n=len(rows)))
