"""The search page's parts: the box with its time range, the results and an incident's trace.
Pure functions of data; the callbacks are in callbacks.py."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.formats import fmt_time
from dashboard.i18n import STRINGS, t, type_label
from dashboard.pickers import date_picker


def build_box(*, lang: str) -> html.Div:
    """The one box, the time range and the button."""
    return html.Div([
        dcc.Input(id=ids.SEARCH_TEXT, type="text", maxLength=100, debounce=True, className="sr-text",
                  placeholder=t("search.placeholder", lang)),
        html.Label([t("search.from", lang), date_picker(ids.SEARCH_FROM, lang)]),
        html.Label([t("search.to", lang), date_picker(ids.SEARCH_TO, lang)]),
        html.Button(t("search.go", lang), id=ids.SEARCH_GO, className="au-btn"),
    ], className="au-search sr-box")


def build_results(rows: list[dict[str, Any]], *, lang: str, tz: str, limit: int, names: dict[str, str]) -> list:
    """The found incidents, newest first, each a button that opens its trace (`names`: station id → name)."""
    if not rows:
        return [html.Div(t("search.none", lang), className="dp-empty")]
    head = html.Div(t("search.count", lang).format(n=len(rows), max=limit), className="au-count")
    return [head] + [
        html.Button([html.B(r["id"]), f" {fmt_time(r['ts'], tz, with_date=True)} · {type_label(r['type'], lang)} · ",
                     html.Span(t(f"state.{r['state']}", lang), className=f"dp-state s-{r['state']}"),
                     f" · {names.get(r['station'], r['station']) or '-'} · {r['address'] or ''} · ",
                     html.Small(f"{t('search.matched', lang)}: "
                                + ", ".join(t(f"search.key.{k}", lang) for k in r["matched"]))],
                    id=ids.search_result(r["id"]), className="dp-card small sr-result", n_clicks=0)
        for r in rows
    ]


# Where a trace event's `what` (a code) is named, by event kind; an audit action stays its code, as in the audit log.
_WHAT = {"state": "state.", "status": "status.", "camera": "cam.", "assignment": "trace.assignment.",
         "command": "trace.cmd.", "ack": "trace.cmd.", "followup": "followup.", "review": "state."}


def _what(e: dict[str, Any], lang: str) -> str:
    """The event's `what` in words where there are words for it."""
    key = f"{_WHAT.get(e['kind'])}{e['what']}"
    return t(key, lang) if e["kind"] in _WHAT and key in STRINGS else str(e["what"])


def _event_text(e: dict[str, Any]) -> str:
    extra = [str(e[k]) for k in ("unit", "by", "text", "reason", "note") if e.get(k)]
    if e.get("rating"):
        extra.append("★" * int(e["rating"]))
    if e.get("task"):
        extra.append(f"#{e['task']}")
    return " · ".join(extra)


def build_trace(found: dict[str, Any], *, lang: str, tz: str) -> list:
    """Every event of the incident in time order, then what is linked to it."""
    inc, linked = found["incident"], found["linked"]
    events = html.Table(html.Tbody([
        html.Tr([html.Td(fmt_time(e["ts"], tz, with_date=True)), html.Td(t(f"trace.{e['kind']}", lang)),
                 html.Td(html.B(_what(e, lang))),
                 html.Td(_event_text(e))], className=f"sr-ev k-{e['kind']}")
        for e in found["events"]]), className="dp-table sr-events")
    def listing(key: str, rows: list[dict], label: Any) -> list:
        return [html.H4(t(key, lang)), html.Ul([html.Li(label(r)) for r in rows])] if rows else []
    return [
        html.H3(f"{t('search.trace', lang)} {inc['id']} · {type_label(inc['type'], lang)} · {inc['address'] or ''}"),
        events,
        *listing("search.same_caller", linked["same_caller"],
                 lambda r: f"{r['id']} {fmt_time(r['ts'], tz, with_date=True)} {type_label(r['type'], lang)}"),
        *listing("search.same_place", linked["same_place"],
                 lambda r: f"{r['id']} {fmt_time(r['ts'], tz, with_date=True)} {type_label(r['type'], lang)}"),
        *listing("search.merged", [r for r in linked["merged"] if r["id"] != inc["id"]], lambda r: r["id"]),
        *listing("search.tasks", linked["followups"],
                 lambda r: f"#{r['id']} {r['title']} ({t('followup.' + r['state'], lang)})"),
    ]
