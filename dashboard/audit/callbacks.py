"""The audit page's callbacks: search, and export as CSV (formula cells neutralised; the export audited)."""

from __future__ import annotations

import csv
import io
from typing import Any

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
MAX_ROWS = 2000
FILTERS = [State(i, "value") for i in (ids.AUDIT_ACTOR, ids.AUDIT_ACTION, ids.AUDIT_INCIDENT)] + [
    State(ids.AUDIT_FROM, "date"), State(ids.AUDIT_TO, "date")]


def _entries(actor: str | None, action: str | None, incident: str | None, start: str | None,
             end: str | None) -> list[dict[str, Any]]:
    app = ctx()
    require(current_actor("audit"), "audit.view")
    since, until = day_bounds(start, end, app.settings.timezone)
    return app.reads.run(audit.search, limit=MAX_ROWS, actor=(actor or "").strip(), action=(action or "").strip(),
                      incident=(incident or "").strip() or None, since=since, until=until)


@CALLBACKS.callback(
    Output(ids.AUDIT_TABLE, "data"), Output(ids.AUDIT_COUNT, "children"),
    Input(ids.AUDIT_SEARCH, "n_clicks"), *FILTERS, State(ids.LANG, "data"),
)
def search(_: int | None, actor: str | None, action: str | None, incident: str | None, start: Day | None,
           end: Day | None, lang: str | None) -> tuple[list, str]:
    """The entries matching the filters, newest first."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    rows = table_rows(_entries(actor, action, incident, start, end), app.settings.timezone)
    return rows, t("audit.count", lang).format(n=len(rows), max=MAX_ROWS)


@CALLBACKS.callback(
    Output(ids.AUDIT_DOWNLOAD, "data"), Input(ids.AUDIT_EXPORT, "n_clicks"), *FILTERS, prevent_initial_call=True,
)
def export(clicks: int | None, actor: str | None, action: str | None, incident: str | None, start: Day | None,
           end: Day | None) -> Any:
    """The matching entries as CSV, oldest first; the export itself goes into the log."""
    if not clicks:
        return no_update
    app = ctx()
    rows = table_rows(_entries(actor, action, incident, start, end), app.settings.timezone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows([csv_cell(r[c]) for c in COLUMNS] for r in reversed(rows))
    filters = {"actor": actor, "action": action, "incident": incident, "from": start, "to": end}
    app.db.act(audit.export, current_actor("audit"), "audit", len(rows), filters)
    return {"content": "\ufeff" + out.getvalue(), "filename": "qingzhi-audit.csv", "type": "text/csv"}
