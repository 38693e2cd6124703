"""Builders of the dispatch page: the frame, the queue, the incident detail, the recommended
units, the lifecycle actions and the map's drawings. Pure functions of data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from dashboard import ids
from dashboard.cameras.components import build_camera_config, build_camera_strip
from dashboard.formats import fmt_dur, fmt_time
from dashboard.i18n import STRINGS, t, type_label
from dashboard.maps import DISPATCH_MAP, build_map, marker
from qingzhi.config import Settings
from qingzhi.core.dispatch import ASSIGNABLE
from qingzhi.core.lifecycle import NEXT
from qingzhi.core.response_times import INTERVALS, incident_times

FEEDBACK_RESULTS = ("resolved", "mediated", "referred", "case_opened", "false_alarm")
REVIEW_RESULTS = ("approved", "returned")
STEP_BUTTONS = ("en_route", "on_scene", "handled")


def build_page(*, settings: Settings, lang: str, selected: str | None, config: dict[str, Any], tabs: Any,
               panels: list, areas: dict[str, Any], camera_config: str) -> html.Div:
    """The page: left the tabs (queue and side panels), centre the map, right the incident detail
    with the live cameras of its units (`camera_config`: dashboard.cameras.api.config_json).

    No dcc.Interval: assets/js/50_dispatch_stream.js polls dashboard/dispatch/api.py and pushes
    what changed; `config` tells it where and how (dispatch.api.client_config)."""
    return html.Div(
        [
            dcc.Store(id=ids.DISPATCH_CONFIG, data=config),
            html.Div(id=ids.DISPATCH_STARTED, hidden=True),
            dcc.Store(id=ids.DISPATCH_SELECTED, data=selected),
            dcc.Store(id=ids.DISPATCH_REFRESH, data=0),
            dcc.Store(id=ids.DISPATCH_QUEUE_SHOWN, data={}),
            dcc.Store(id=ids.DISPATCH_DETAIL_SHOWN, data={}),
            dcc.Store(id=ids.DISPATCH_CLICK, data=None),
            html.Section([tabs, *panels], className="dp-left"),
            html.Section(
                [build_map(config=DISPATCH_MAP, settings=settings, lang=lang, data=areas),
                 html.Div(id=ids.DISPATCH_BANNER, className="qz-banner", hidden=True)],
                className="dp-centre",
            ),
            html.Section(
                [
                    html.Div(id=ids.DISPATCH_MSG, className="dp-msg", role="status"),
                    html.Div(t("dispatch.select_hint", lang), id=ids.DISPATCH_HEAD, className="dp-head"),
                    html.Div(id=ids.DISPATCH_UNITS, className="dp-units"),
                    build_camera_strip(strip_id=ids.DISPATCH_CAMERAS, mode="incident", lang=lang),
                    html.Div(id=ids.DISPATCH_CAMERAS_FOLLOW, hidden=True),
                    build_camera_config(config_json=camera_config),
                    html.Div(id=ids.DISPATCH_RECOMMEND, className="dp-recommend"),
                    html.Div(id=ids.DISPATCH_ACTIONS, className="dp-actions"),
                ],
                className="dp-right",
            ),
        ],
        className="dp-page",
    )


def build_queue(rows: list[dict], *, lang: str, selected: str | None, repeats: dict[str, list[dict]],
                now: dt.datetime) -> list:
    """One clickable card per open incident: priority, number, type, wait (advanced each second by
    assets/js/50_dispatch_wait.js), state, units and acks; a repeat badge says why on hover (`repeats`:
    the reasons of the flags naming each incident)."""
    if not rows:
        return [html.Div(t("dispatch.queue.empty", lang), className="dp-empty")]
    cards = []
    for r in rows:
        badges = [html.Span(t(f"priority.{r['priority']}", lang), className=f"dp-prio p{r['priority']}")]
        if r["overdue"]:
            badges.append(html.Span(t(f"dispatch.overdue.{r['overdue']}", lang), className="dp-badge dp-overdue"))
        if r["id"] in repeats:
            why = "; ".join(reason["zh" if lang == "zh" else "en"] for reason in repeats[r["id"]])
            badges.append(html.Span(t("dispatch.repeat", lang), className="dp-badge dp-repeat", title=why))
        if r["state"] in ("assigned", "en_route", "on_scene") and not r["units"]:
            badges.append(html.Span(t("dispatch.no_unit", lang), className="dp-badge dp-overdue"))
        units = [html.Span(u, className=f"dp-chip ack-{a}", title=t(f"dispatch.ack.{a}", lang))
                 for u, a in zip(r["units"], r["ack"])]
        cls = "dp-card" + (" overdue" if r["overdue"] else "") + (" selected" if r["id"] == selected else "")
        cards.append(
            html.Button(
                [
                    html.Div([*badges, html.Span(r["id"], className="dp-id")], className="dp-card-top"),
                    html.Div(type_label(r["type"], lang), className="dp-type"),
                    html.Div(r["address"] or "", className="dp-addr"),
                    html.Div(
                        [html.Span(t(f"state.{r['state']}", lang), className=f"dp-state s-{r['state']}"),
                         html.Span(f"{t('dispatch.waited', lang)} {fmt_dur(r['waited_s'])}", className="dp-wait",
                                   **{"data-since": int(r["ts"].timestamp() * 1000), "data-at": int(now.timestamp() * 1000),
                                      "data-label": t("dispatch.waited", lang)}),
                         *units],
                        className="dp-card-bottom",
                    ),
                ],
                id=ids.dispatch_incident(r["id"]), className=cls, n_clicks=0,
            )
        )
    return cards


def _kv(label: str, value: Any) -> html.Div:
    return html.Div([html.Span(label, className="dp-k"), html.Span(value, className="dp-v")], className="dp-kv")


def agency_label(agency: str, agencies: list[dict[str, str]] | None, lang: str) -> str:
    """The configured name of an agency in the user's language (its id if no longer configured)."""
    return next((a["zh" if lang == "zh" else "en"] for a in agencies or () if a["id"] == agency), agency)


def build_head(d: dict, *, lang: str, tz: str, agencies: list[dict[str, str]] | None = None) -> list:
    """The incident's facts (a diverted one's agency by its configured name, `agencies`), its lifecycle
    with times, and its response times."""
    steps = ("received", "assigned", "en_route", "on_scene", "handled", "feedback", "closed")
    stamp = {"received": d["ts"], **{s: d.get(f"{s}_at") for s in steps[1:]}}
    timeline = [
        html.Li([html.Span(t(f"state.{s}", lang)), html.Span(fmt_time(stamp[s], tz))],
                className="done" if stamp[s] else "todo")
        for s in steps
    ]
    if d["state"] in ("cancelled", "merged", "diverted"):
        end = d["cancelled_at"] or d.get("diverted_at") or d["closed_at"]
        timeline.append(html.Li([html.Span(t(f"state.{d['state']}", lang)), html.Span(fmt_time(end, tz))],
                                className="done end"))
    times = incident_times(d)
    facts = [
        _kv(t("dispatch.field.received", lang), fmt_time(d["ts"], tz, with_date=True)),
        _kv(t("dispatch.field.type", lang), type_label(d["type"], lang)),
        _kv(t("dispatch.field.address", lang), d["address"] or "—"),
        *([_kv(t("state.diverted", lang), f"{agency_label(d['diverted_to'], agencies, lang)} · {d['divert_reason']}")] if d.get("diverted_to") else []),
        _kv(t("dispatch.field.station", lang), d.get(f"station_{lang}") or d["station"] or "—"),
        _kv(t("dispatch.field.source", lang), t(f"source.{d['source']}", lang)),
    ]
    if d["summary"]:
        facts.append(_kv(t("dispatch.field.summary", lang), d["summary"]))
    if d["merged_into"]:
        facts.append(_kv(t("dispatch.field.merged_into", lang), d["merged_into"]))
    if d["duplicates"]:
        facts.append(_kv(t("dispatch.field.duplicates", lang), ", ".join(d["duplicates"])))
    return [
        html.H2([html.Span(t(f"priority.{d['priority']}", lang), className=f"dp-prio p{d['priority']}"), " ", d["id"],
                 html.Span(t(f"state.{d['state']}", lang), className=f"dp-state s-{d['state']}")]),
        html.Div(facts, className="dp-facts"),
        html.Ol(timeline, className="dp-timeline"),
        html.Div([html.Span(f"{t(f'interval.{k}', lang)} {fmt_dur(times[k])}", className="dp-time") for k in INTERVALS],
                 className="dp-times"),
    ]


def ack_state(a: dict, *, now: dt.datetime, timeout_s: int) -> str:
    """acked / waiting / timeout / unsent for one assignment's command."""
    if a["ack_at"] is not None:
        return "acked"
    if a["cmd_ts"] is not None and (now - a["cmd_ts"]).total_seconds() > timeout_s:
        return "timeout"
    return "waiting" if a["published_at"] is not None else "unsent"


def build_units(d: dict, *, lang: str, tz: str, now: dt.datetime, timeout_s: int, next_unit: str | None) -> list:
    """The units sent to this incident with the live state of each command's acknowledgement."""
    rows = []
    for a in d["assignments"]:
        if a["released_at"] is not None:
            reason = f"dispatch.reason.{a['release_reason']}"
            reason = t(reason, lang) if reason in STRINGS else a["release_reason"]
            rows.append(html.Li([html.B(a["unit"]), f" {t('dispatch.released', lang)} {fmt_time(a['released_at'], tz)}"
                                 f" ({reason})"], className="dp-assignment released"))
            continue
        state = ack_state(a, now=now, timeout_s=timeout_s)
        ack_text = t(f"dispatch.ack.{state}", lang)
        if state == "acked":
            ack_text += f" {fmt_time(a['ack_at'], tz)} (+{(a['ack_at'] - a['cmd_ts']).total_seconds():.1f} s)"
        elif state == "waiting":  # the deadline, not a ticking count: the list is redrawn only on change
            ack_text += f" ≤ {fmt_time(a['cmd_ts'] + dt.timedelta(seconds=timeout_s), tz)}"
        buttons = [html.Button(t("dispatch.release", lang), id=ids.dispatch_release(a["unit"]), className="dp-btn small")]
        if state == "timeout" and next_unit:
            buttons.append(html.Button(t("dispatch.replace", lang).format(unit=next_unit),
                                       id=ids.dispatch_release(a["unit"], next_unit), className="dp-btn small primary"))
        rows.append(
            html.Li(
                [html.B(a["unit"]), html.Span(t(f"status.{a['status']}", lang) if a["status"] else "", className="dp-st"),
                 html.Span(f"{t('dispatch.assign', lang)} {fmt_time(a['assigned_at'], tz)}"),
                 html.Span(ack_text, className=f"dp-ack ack-{state}"), *buttons],
                className=f"dp-assignment ack-{state}",
            )
        )
    return [html.H3(t("dispatch.units", lang)),
            html.Ul(rows, className="dp-assignments") if rows else html.Div(t("dispatch.units.none", lang), className="dp-empty")]


def build_recommend(cands: list[dict], *, lang: str, state: str) -> list:
    """The recommended units as a table with one assign button each."""
    head = html.H3(t("dispatch.recommend", lang))
    if state not in ASSIGNABLE:
        return [head, html.Div(t("dispatch.recommend.closed", lang), className="dp-empty")]
    if not cands:
        return [head, html.Div(t("dispatch.recommend.none", lang), className="dp-empty")]
    cols = ("unit", "kind", "status", "distance", "eta", "camera")
    rows = [
        html.Tr([
            html.Td(c["id"], className="dp-unit"), html.Td(t(f"kind.{c['kind']}", lang)),
            html.Td(t(f"status.{c['status']}", lang)), html.Td(f"{c['distance_m'] / 1000:.2f} km"),
            html.Td(fmt_dur(c["eta_s"])), html.Td(t(f"cam.{c['cam']}", lang) if c["cam"] else "—", className=f"cam-{c['cam']}"),
            html.Td(html.Button(t("dispatch.assign", lang), id=ids.dispatch_assign(c["id"]), className="dp-btn primary")),
        ])
        for c in cands
    ]
    return [head, html.Table([html.Thead(html.Tr([html.Th(t(f"dispatch.col.{c}", lang)) for c in cols] + [html.Th("")])),
                              html.Tbody(rows)], className="dp-table")]


def _review_form(step: str, lang: str) -> html.Div:
    results = FEEDBACK_RESULTS if step == "feedback" else REVIEW_RESULTS
    return html.Div(
        [
            html.H3(t(f"dispatch.{step}", lang)),
            dcc.Dropdown(id=ids.dispatch_field("result"), options=[{"label": t(f"result.{r}", lang), "value": r} for r in results],
                         placeholder=t("dispatch.result", lang), clearable=False),
            dcc.RadioItems(id=ids.dispatch_field("rating"), options=[{"label": "★" * n, "value": n} for n in range(1, 6)],
                           inline=True, className="dp-rating"),
            dcc.Input(id=ids.dispatch_field("note"), placeholder=t("dispatch.note", lang), className="dp-input"),
            html.Button(t("dispatch.submit", lang), id=ids.dispatch_action(step), className="dp-btn primary"),
        ],
        className="dp-form",
    )


def _divert_form(agencies: list[dict[str, str]], lang: str) -> html.Details:
    return html.Details([
        html.Summary(t("dispatch.divert", lang)),
        dcc.Dropdown(id=ids.dispatch_field("agency"), placeholder=t("dispatch.divert.agency", lang), clearable=False,
                     options=[{"label": a["zh" if lang == "zh" else "en"], "value": a["id"]} for a in agencies]),
        html.Div([dcc.Input(id=ids.dispatch_field("divert_reason"), placeholder=t("dispatch.divert.reason", lang),
                            className="dp-input", maxLength=200),
                  html.Button(t("dispatch.divert", lang), id=ids.dispatch_action("divert"), className="dp-btn")],
                 className="dp-row"),
    ], className="dp-more")


def build_actions(state: str, *, lang: str, agencies: list[dict[str, str]] | None = None) -> list:
    """The buttons and forms for what may happen next to an incident in this state (`agencies`: where a
    non-police matter may be diverted)."""
    allowed = NEXT.get(state, ())
    out: list = []
    steps = [html.Button(t(f"dispatch.step.{s}", lang), id=ids.dispatch_step(s), className="dp-btn")
             for s in STEP_BUTTONS if s in allowed]
    if steps:
        out.append(html.Div(steps, className="dp-steps"))
    if "feedback" in allowed:
        out.append(_review_form("feedback", lang))
    if "closed" in allowed:
        out.append(_review_form("review", lang))
    if "cancelled" in allowed:
        out.append(html.Details([
            html.Summary(f"{t('dispatch.cancel', lang)} / {t('dispatch.merge', lang)}"),
            html.Div([dcc.Input(id=ids.dispatch_field("reason"), placeholder=t("dispatch.cancel.reason", lang), className="dp-input"),
                      html.Button(t("dispatch.cancel", lang), id=ids.dispatch_action("cancel"), className="dp-btn danger")], className="dp-row"),
            html.Div([dcc.Input(id=ids.dispatch_field("into"), placeholder=t("dispatch.merge.into", lang), className="dp-input"),
                      html.Button(t("dispatch.merge", lang), id=ids.dispatch_action("merge"), className="dp-btn")], className="dp-row"),
        ], className="dp-more"))
    if "diverted" in allowed and agencies:
        out.append(_divert_form(agencies, lang))
    return out


def build_pin(click: dict | None, *, lang: str, settings: Settings) -> list:
    """Where the new incident being entered is (the point clicked on the map, in WGS-84)."""
    if not click:
        return []
    return [marker(click["lat"], click["lon"], settings, radius=9, color="#7b1fa2", fillOpacity=0.6,
                   children=dl.Tooltip(t("dispatch.tab.new", lang)))]


def build_map_layer(d: dict, cands: list[dict], *, lang: str, settings: Settings) -> list:
    """The selected incident, its assigned units and the recommended ones."""
    out: list = []
    for a in d["assignments"]:
        if a["released_at"] is None and a["lat"] is not None:
            out.append(marker(a["lat"], a["lon"], settings, radius=8, color="#2e7d32", fillColor="#66bb6a",
                              fillOpacity=0.9, children=dl.Tooltip(a["unit"], permanent=True)))
    for c in cands:
        out.append(marker(c["lat"], c["lon"], settings, radius=7, color="#1f5fbf", fillColor="#4f8ff7",
                          fillOpacity=0.9, children=dl.Tooltip(f"{c['id']} · {fmt_dur(c['eta_s'])}")))
    out.append(marker(d["lat"], d["lon"], settings, radius=12, color="#c62828", fillColor="#ef5350", fillOpacity=0.9,
                      weight=3, children=dl.Tooltip(f"{d['id']} {type_label(d['type'], lang)}", permanent=True)))
    return out


def _action_label(action: str, lang: str) -> str:
    area, _, what = action.partition(".")
    if area == "incident" and what in ("create",):
        return t("dispatch.tab.new", lang)
    if area == "incident":
        return t(f"state.{what}", lang)
    if action in ("dispatch.assign", "dispatch.release"):
        return t(action, lang)
    return action


def build_history(entries: list[dict], *, lang: str, tz: str) -> list:
    """The incident's audit trail, newest first: when, who, what, which unit."""
    if not entries:
        return []
    items = [html.Li([html.Span(fmt_time(e["ts"], tz), className="dp-k"), f" {e['actor']} · {_action_label(e['action'], lang)}",
                      f" · {e['unit']}" if e["unit"] else ""]) for e in entries]
    return [html.Details([html.Summary(f"{t('dispatch.history', lang)} ({len(entries)})"),
                          html.Ul(items, className="dp-history")], className="dp-more")]


def build_message(text: str, *, ok: bool) -> html.Div:
    """A one-line result of an action."""
    return html.Div(text, className="dp-note ok" if ok else "dp-note error")
