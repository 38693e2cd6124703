"""Builders of the dispatch page's left-hand tabs besides the queue: repeat-incident flags,
follow-up tasks, response-time figures, the form for a walk-in or radio report and the settings.
Pure functions of data; their callbacks are in panel_callbacks.py."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from dash import dcc, html

from dashboard import ids
from qingzhi.core.response_times import DIMENSIONS, INTERVALS
from dashboard.formats import fmt_dur, fmt_time
from dashboard.i18n import t, type_label

TABS = ("queue", "flags", "followups", "times", "new", "settings")
FORM_TYPES = ("dispute.family", "dispute.neighbour", "theft.ebike", "theft.pickpocket", "traffic.accident",
              "fraud.phone", "assault", "noise", "missing.person", "other")


def build_tabs(*, lang: str) -> dcc.Tabs:
    """The tab strip over the left panels."""
    return dcc.Tabs(id=ids.DISPATCH_TABS, value="queue", className="dp-tabs",
                    children=[dcc.Tab(label=t(f"dispatch.tab.{k}", lang), value=k, className="dp-tab",
                                      selected_className="dp-tab-on") for k in TABS])


def _form(lang: str) -> html.Div:
    return html.Div(
        [
            html.P(t("dispatch.form.hint", lang), id=ids.DISPATCH_FORM_WHERE, className="dp-hint"),
            dcc.Dropdown(id=ids.DISPATCH_FORM_TYPE, options=[{"label": type_label(k, lang), "value": k} for k in FORM_TYPES],
                         placeholder=t("dispatch.field.type", lang)),
            dcc.Dropdown(id=ids.DISPATCH_FORM_PRIORITY, value=3, clearable=False,
                         options=[{"label": t(f"priority.{p}", lang), "value": p} for p in (1, 2, 3, 4)]),
            dcc.Input(id=ids.DISPATCH_FORM_ADDRESS, placeholder=t("dispatch.field.address", lang), className="dp-input"),
            dcc.Textarea(id=ids.DISPATCH_FORM_SUMMARY, placeholder=t("dispatch.field.summary", lang), className="dp-input"),
            dcc.Input(id=ids.DISPATCH_FORM_CALLER, placeholder=t("dispatch.field.caller", lang), className="dp-input"),
            html.Button(t("dispatch.submit", lang), id=ids.DISPATCH_FORM_SUBMIT, className="dp-btn primary"),
        ],
        className="dp-form",
    )


def build_panels(*, lang: str) -> list:
    """One panel per tab (only the queue's shown at first); the form is static, the others are
    filled by callbacks."""
    times = [
        html.Div([html.Span(t("dispatch.times.by", lang)),
                  dcc.Dropdown(id=ids.DISPATCH_TIMES_BY, value="station", clearable=False,
                               options=[{"label": t(f"dim.{d}", lang), "value": d} for d in DIMENSIONS]),
                  html.Span(t("dispatch.times.window", lang))], className="dp-row"),
        html.Div(id=ids.DISPATCH_TIMES),
    ]
    content = {
        "queue": [html.Div(id=ids.DISPATCH_QUEUE_COUNT, className="dp-count"),
                  html.Div(id=ids.DISPATCH_QUEUE, className="dp-queue")],
        "flags": [html.Div(id=ids.DISPATCH_FLAGS), html.Div(id=ids.DISPATCH_FLAG_DETAIL)],
        "followups": [html.Div(id=ids.DISPATCH_FOLLOWUPS)],
        "times": times,
        "new": [_form(lang)],
        "settings": [html.Div(id=ids.DISPATCH_SETTINGS, className="dp-form dp-settings")],
    }
    return [html.Div(content[tab], id=ids.dispatch_panel(tab), className=f"dp-panel dp-panel-{tab}",
                     hidden=tab != "queue") for tab in TABS]


def _flag_text(f: dict, lang: str) -> str:
    return f["reason"]["zh" if lang == "zh" else "en"]


def build_flags(flags: list[dict[str, Any]], *, lang: str) -> list:
    """The repeat flags, each with a button for its incidents and one to make a follow-up task."""
    if not flags:
        return [html.Div(t("dispatch.flags.empty", lang), className="dp-empty")]
    items = []
    for f in flags:
        task = f["task"]
        action = (html.Span(t("dispatch.flag.has_task", lang).format(id=task["id"], state=t(f"followup.{task['state']}", lang)),
                            className="dp-badge") if task else
                  html.Button(t("dispatch.flag.make_task", lang), id=ids.dispatch_flag_task(f["key"]), className="dp-btn small"))
        items.append(html.Div([
            html.Button([html.Span(t(f"flag.{f['kind']}", lang), className=f"dp-flag-kind k-{f['kind']}"),
                         html.Span(f" {f['label']} "), html.Span(_flag_text(f, lang), className="dp-flag-n")],
                        id=ids.dispatch_flag(f["key"]), className="dp-flag-open", n_clicks=0),
            action], className="dp-flag"))
    return items


def build_flag_incidents(flag: dict[str, Any], rows: list[dict[str, Any]], *, lang: str, tz: str) -> list:
    """The incidents behind a flag, each selectable."""
    title = f"{t('flag.' + flag['kind'], lang)} {flag['label']}"
    return [html.H3(title)] + [
        html.Button([html.Span(t(f"priority.{r['priority']}", lang), className=f"dp-prio p{r['priority']}"),
                     f" {r['id']} · {type_label(r['type'], lang)} · {fmt_time(r['ts'], tz, with_date=True)} · ",
                     html.Span(t(f"state.{r['state']}", lang), className=f"dp-state s-{r['state']}")],
                    id=ids.dispatch_incident(r["id"], "flag"), className="dp-card small", n_clicks=0)
        for r in rows
    ]


def _task_step(step: dict[str, Any], lang: str, tz: str) -> html.Li:
    what = " · ".join(str(x) for x in (step["text"], "★" * step["rating"] if step["rating"] else None) if x)
    return html.Li([html.Span(fmt_time(step["ts"], tz, with_date=True)), " ",
                    html.B(t(f"followup.{step['step']}", lang)), f" {step['actor']} {what}",
                    html.Span(f" {t('followup.late', lang)}", className="dp-late") if step["late"] else ""])


DUE_FORMAT = "%Y-%m-%d %H:%M"  # how the 交办 form shows and reads a deadline, in the page's time zone


def unit_options(units: list[dict[str, str]]) -> list[dict[str, str]]:
    """Units (id and station) as the 交办 form's device choices."""
    return [{"label": f"{u['id']} · {u['station']}", "value": u["id"]} for u in units]


def _assign_form(task: dict[str, Any], choices: dict[str, Any], lang: str, tz: str) -> list:
    """交办: station (of the user's scope), officer, the officer's device, grid worker and deadline,
    prefilled with what the task had or its grid's; blank officer / device / worker take the grid's."""
    officer = task["officer"] or task["grid_officer"]
    unit = task["unit"] or (task["grid_unit"] if officer == task["grid_officer"] else None)
    due = choices["due"].astimezone(ZoneInfo(tz)).strftime(DUE_FORMAT) if choices.get("due") else ""
    field = lambda name: ids.dispatch_assign_field(task["id"], name)  # noqa: E731
    units = unit_options([u for u in choices["units"] if u["station"] == task["station"]])
    fmt = "YYYY-MM-DD HH:MM"
    labelled = [
        ("dim.station", dcc.Dropdown(id=field("station"), options=choices["stations"], value=task["station"],
                                     clearable=False, className="dp-fu-station")),
        ("followup.input.assigned", dcc.Input(id=field("officer"), value=officer, className="dp-input small",
                                              maxLength=100)),
        ("followup.field.unit", dcc.Dropdown(id=field("unit"), options=units, value=unit, className="dp-fu-unit")),
        ("followup.field.worker", dcc.Input(id=field("worker"), value=task["grid_worker"] or task["grid_helper"],
                                            className="dp-input small", maxLength=100)),
        ("followup.field.due", dcc.Input(id=field("due"), value=due, placeholder=fmt, className="dp-input small",
                                         maxLength=16)),
    ]
    return [html.Label([html.Span(t(key, lang).format(f=fmt), className="dp-k"), widget]) for key, widget in labelled]


def build_followups(tasks: list[dict[str, Any]], next_step: dict[str, str], *, lang: str, tz: str,
                    choices: dict[str, Any] | None = None) -> list:
    """Follow-up tasks with their reason, steps, deadline and slip, and the input(s) and button for each
    one's next step (`next_step` by state); an open or escalated one's 交办 form offers `choices`
    (stations, units as id and station — those of the task's station offered — the default deadline `due`)."""
    choices = choices or {"stations": [], "units": [], "due": None}
    if not tasks:
        return [html.Div(t("dispatch.followups.empty", lang), className="dp-empty")]
    out = []
    for task in tasks:
        nxt = next_step.get(task["state"])
        reason = (task["reason"] or {}).get("zh" if lang == "zh" else "en", "")
        facts = [fmt_time(task["created_at"], tz, with_date=True), str(len(task["incidents"])), reason,
                 " / ".join(x for x in (task["officer"], task["grid_worker"]) if x)]
        if task["due_at"]:
            facts.append(t("followup.due", lang).format(t=fmt_time(task["due_at"], tz, with_date=True)))
        if task["check_at"]:
            facts.append(t("followup.check_due", lang).format(t=fmt_time(task["check_at"], tz, with_date=True)))
        if task["slip"]:
            facts.append(t("followup.slip_ack" if task["slip_ack"] else "followup.slip", lang))
        fields = _assign_form(task, choices, lang, tz) if nxt == "assigned" else [
            dcc.Input(id=ids.dispatch_followup_input(task["id"]), placeholder=t(f"followup.input.{nxt}", lang),
                      className="dp-input small")]
        step = [*fields,
                html.Button(t(f"followup.to.{nxt}", lang), id=ids.dispatch_followup_step(task["id"], nxt),
                            className="dp-btn small")] if nxt else []
        out.append(html.Div([
            html.Div([html.B(f"#{task['id']} "), task["title"],
                      html.Span(t(f"followup.{task['state']}", lang), className=f"dp-badge fu-{task['state']}")]),
            html.Div(" · ".join(f for f in facts if f), className="dp-sub"),
            html.Ol([_task_step(s, lang, tz) for s in task["steps"]], className="dp-fu-steps"),
            html.Div(step, className="dp-row dp-fu-assign" if nxt == "assigned" else "dp-row"),
        ], className="dp-task", id=ids.dispatch_task(task["id"])))
    return out


def _group(grp: str, by: str, names: dict[str, str], lang: str) -> str:
    """A response-time group in words: the priority's, type's or station's name, the hour as 08:00."""
    if by == "priority":
        return t(f"priority.{grp}", lang)
    if by == "type":
        return type_label(grp, lang)
    if by == "station":
        return names.get(grp, "—" if grp == "-" else grp)
    if by == "hour":
        return f"{grp}:00"
    return t("dim.all", lang)


def build_times(rows: list[dict[str, Any]], *, by: str, names: dict[str, str], lang: str) -> Any:
    """p50 / p90 of each response interval per group, as a table (`names`: station id → name)."""
    if not rows:
        return html.Div(t("dispatch.times.empty", lang), className="dp-empty")
    head = [html.Th(t(f"dim.{by}", lang)), html.Th(t("dispatch.col.n", lang))]
    head += [html.Th(t(f"interval.short.{k}", lang), title=t(f"interval.{k}", lang)) for k in INTERVALS]
    body = [
        html.Tr([html.Td(_group(r["grp"], by, names, lang)), html.Td(r["incidents"])]
                + [html.Td([fmt_dur(r[f"{k}_p50"]), html.Br(), html.Small(fmt_dur(r[f"{k}_p90"]))],
                           title=f"{t(f'interval.{k}', lang)} n={r[f'{k}_n']}") for k in INTERVALS])
        for r in rows
    ]
    return [html.Table([html.Thead(html.Tr(head)), html.Tbody(body)], className="dp-table dp-times-table"),
            html.P(t("dispatch.times.legend", lang), className="dp-sub")]


GRID_FILE_BYTES = 5_000_000


def _grid_upload(stations: list[str], lang: str) -> list:
    return [html.Label(t("dispatch.grids", lang), className="dp-k"),
            html.Div([dcc.Dropdown(id=ids.DISPATCH_GRID_STATION, options=stations, clearable=False,
                                   value=stations[0] if len(stations) == 1 else None,
                                   placeholder=t("dim.station", lang)),
                      dcc.Upload(html.Div(t("dispatch.grids.drop", lang)), id=ids.DISPATCH_GRID_UPLOAD,
                                 accept=".geojson,.json", max_size=GRID_FILE_BYTES, className="dp-upload")],
                     className="dp-row")]


def build_settings(cfg: dict[str, Any], *, lang: str, stations: list[str] | None = None) -> list:
    """Every dispatch setting as editable JSON, each with its own save button; then the upload of a
    station's community grids (`stations`: those the user may load them for)."""
    out: list = [html.P(t("dispatch.settings.hint", lang), className="dp-sub")] + _grid_upload(stations or [], lang)
    for key, value in cfg.items():
        out += [html.Label(t(f"setting.{key}", lang), className="dp-k"),
                html.Div([dcc.Textarea(id=ids.dispatch_setting(key), value=json.dumps(value, ensure_ascii=False),
                                       className="dp-input dp-json"),
                          html.Button(t("dispatch.settings.save", lang), id=ids.dispatch_setting_save(key),
                                      className="dp-btn small")], className="dp-row")]
    return out
