"""Callbacks of /analysis: the filters become one store, and every panel updates on its own from
it, so a slow panel never holds up the others. The work is in dashboard.analysis.updates (shared
with the benchmark); these only wire controls to it and format the answers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12
from dash import ALL, Input, Output, State, ctx as dash_ctx, no_update

from dashboard import ids
from dashboard.analysis import components as ui
from dashboard.analysis import updates as up
from dashboard.analysis.figures import heat_figure, pareto_figure
from dashboard.analysis.summary import summary_table, summary_text
from dashboard.analysis.view import area_note, outside_rows, types_text, zoom_resolution
from dashboard.auth.session_cookies import current_actor, visible_station_filter
from dashboard.callbacks import BadInput, CallbackSet
from dashboard.context import ctx
from dashboard.analysis import queries as q
from dashboard.inputs import Day
from dashboard.i18n import category_label, t, type_label
from dashboard.stations import station_names
from dashboard.maps import BLANK_IMAGE, EMPTY_COLLECTION, NOWHERE, bounds_for_tiles, for_tiles
from qingzhi.core import audit
from qingzhi.core.safe_output import csv_cell

CALLBACKS = CallbackSet("analysis", "analysis.view")


class FilterData(TypedDict):
    """The filter store (collect_filters), as every panel receives it back from the browser."""

    start: Day
    end: Day
    stations: list[str]
    types: list[str]
    categories: list[str]
    priorities: list[int]
    compare: str


@CALLBACKS.callback(
    Output(ids.AN_DATES, "start_date"), Output(ids.AN_DATES, "end_date"),
    Input(ids.AN_QUICK, "value"), State(ids.AN_ANCHOR, "data"), prevent_initial_call=True)
def quick_pick(pick: ui.QuickPick | None, anchor: Day) -> tuple[str, str]:
    """Last 7/30/90 days or this year, ending at the latest day with data (or today)."""
    end = date.fromisoformat(anchor)
    start = end.replace(month=1, day=1) if pick == "year" else end - timedelta(days=int(pick or 30) - 1)
    return start.isoformat(), end.isoformat()


@CALLBACKS.callback(
    Output(ids.AN_FILTERS, "data"),
    Input(ids.AN_DATES, "start_date"), Input(ids.AN_DATES, "end_date"), Input(ids.AN_STATIONS, "value"),
    Input(ids.AN_TYPES, "value"), Input(ids.AN_CATEGORIES, "value"), Input(ids.AN_PRIORITIES, "value"),
    Input(ids.AN_COMPARE, "value"))
def collect_filters(start: Day, end: Day, stations: list[str] | None, types: list[str] | None,
                    categories: list[str] | None, priorities: list[int] | None, compare: str | None) -> FilterData:
    """One normalised filter record for every panel (dates in order, empty lists for 'all')."""
    s, e = sorted([date.fromisoformat(start[:10]), date.fromisoformat(end[:10])])
    return {"start": s.isoformat(), "end": e.isoformat(), "stations": stations or [], "types": types or [],
            "categories": categories or [], "priorities": priorities or [], "compare": compare or "previous"}


def _filters(data: FilterData) -> q.Filters:
    """The panels' filters, narrowed to the user's stations: an account of one station analyses that station."""
    return q.Filters(date.fromisoformat(data["start"]), date.fromisoformat(data["end"]),
                     visible_station_filter(list(data["stations"])),
                     tuple(data["types"]), tuple(data["categories"]), tuple(int(p) for p in data["priorities"]))


def _tz() -> str:
    return ctx().settings.timezone


def _station_names(lang: str) -> dict[str, str]:
    return station_names(ctx().reads, lang)


def _signed(percent: float | None) -> str:
    """'+12%', '-3%', '0%'; blank when there is nothing to compare with."""
    if percent is None:
        return ""
    return "0%" if round(percent) == 0 else f"{percent:+.0f}%"


@CALLBACKS.callback(
    Output(ids.AN_HEX, "data"), Output(ids.AN_GI, "data"), Output(ids.AN_KDE, "url"),
    Output(ids.AN_KDE, "bounds"), Output(ids.AN_MAP_NOTE, "children"), Output(ids.AN_TOP, "data"),
    Output(ids.AN_TOP, "columns"), Output(ids.AN_FOCUS, "options"), Output(ids.AN_AREA, "children"),
    Output(ids.AN_OUTSIDE, "data"), Output(ids.AN_OUTSIDE, "columns"), Output(ids.AN_OUTSIDE_TITLE, "children"),
    Input(ids.AN_FILTERS, "data"), Input(ids.AN_RES, "value"), Input(ids.AN_LAYERS, "value"),
    Input(ids.AN_MAP, "zoom"), State(ids.LANG, "data"))
def update_hotspots(data: FilterData | None, res_pick: str, layers: list[str], zoom: float | None, lang: str) -> tuple:
    """Hotspot map layers, the note under it, the top-N table, the peak-hours focus choices, the
    study area in use and the incidents outside it."""
    if not data:
        return (no_update,) * 12
    res = zoom_resolution(zoom) if res_pick == "auto" else int(res_pick)
    settings = ctx().settings
    spots = up.hotspots(ctx().reads, _tz(), _filters(data), data["compare"], res, kde="kde" in layers,
                        study_area=settings.study_area)
    url, bounds = (spots.kde[0], bounds_for_tiles(spots.kde[1], settings)) if spots.kde and "kde" in layers \
        else (BLANK_IMAGE, NOWHERE)
    note = t("an.map.note", lang).format(cells=f"{spots.cells:,}", total=f"{spots.total:,.0f}", res=res)
    if spots.cells > len(spots.hexes["features"]):
        note += t("an.map.capped", lang).format(n=len(spots.hexes["features"]))
    if spots.previous_total is None:
        note += t("an.cmp.no_records", lang).format(compare=t(f"an.cmp.{data['compare']}", lang))
    keys = ["rank", "where", "station", "count", "previous", "change", "z", "significant", "types", "peak"]
    names = _station_names(lang)
    rows = [{**{k: v for k, v in r.items() if k != "dominant"}, "types": types_text(r["dominant"], lang),
             "where": f"{r['lat']:.4f},{r['lon']:.4f}", "station": names.get(r["station"], r["station"]),
             "change": _signed(r["change"])} for r in spots.top]
    focus = [{"label": t("an.focus.all", lang), "value": "all"}] + [
        {"label": t("an.focus.cell", lang).format(rank=r["rank"]) + f" ({r['count']:.0f})",
         "value": f"cell:{res}:{r['cell']}"} for r in spots.top] + [
        {"label": type_label(ty, lang), "value": f"type:{ty}"} for ty in data["types"]]
    outside_title = t("an.outside.title", lang).format(n=f"{spots.outside:,}", shown=len(spots.outside_listed))
    return (for_tiles(spots.hexes, settings) if "hex" in layers else EMPTY_COLLECTION,
            for_tiles(spots.significant, settings) if "gi" in layers else EMPTY_COLLECTION, url, bounds,
            note if spots.cells else t("an.empty", lang), rows,
            ui.columns(keys, lang, {"station": t("common.station", lang)}), focus,
            area_note(spots.area, spots.outside, lang), outside_rows(spots.outside_listed, ZoneInfo(_tz()), lang),
            ui.columns(["id", "time", "type", "where"], lang), outside_title)


@CALLBACKS.callback(
    Output(ids.AN_HEAT, "figure"), Output(ids.AN_PEAK, "children"),
    Input(ids.AN_FILTERS, "data"), Input(ids.AN_FOCUS, "value"), State(ids.AN_FOCUS, "options"),
    State(ids.LANG, "data"))
def update_peak(data: FilterData | None, focus: str | None, options: list[dict], lang: str) -> tuple:
    """The 7×24 heat map and the busiest hours, for all incidents or the chosen hotspot or type."""
    if not data:
        return no_update, no_update
    how, facts = up.peak_hours(ctx().reads, _tz(), _filters(data), None if focus in (None, "all") else focus)
    label = next((o["label"] for o in options or [] if o["value"] == focus), t("an.focus.all", lang))
    fig = heat_figure(how, lang, t("an.heat.title", lang).format(tz=_tz(), what=label))
    hours = ", ".join(f"{h:02d}:00" for h in facts["hours"]) or "—"
    weekday = t(f"an.weekday.{facts['weekday']}", lang) if facts["weekday"] is not None else "—"
    text = t("an.peak.text", lang).format(window=facts["window"] or "—", share=f"{100 * facts['window_share']:.0f}%",
                                          hours=hours, weekday=weekday, total=f"{facts['total']:,.0f}")
    return fig, text


@CALLBACKS.callback(
    Output(ids.AN_PARETO, "figure"), Output(ids.AN_TYPES_TABLE, "data"), Output(ids.AN_TYPES_TABLE, "columns"),
    Input(ids.AN_FILTERS, "data"), Input(ids.AN_TYPES_BY, "value"), State(ids.LANG, "data"))
def update_types(data: FilterData | None, by: str, lang: str) -> tuple:
    """Pareto chart and table of types (or categories) with change vs the comparison period."""
    if not data:
        return no_update, no_update, no_update
    by_type, by_category = up.frequent_types(ctx().reads, _tz(), _filters(data), data["compare"])
    rows = by_type if by == "type" else by_category
    label = type_label if by == "type" else category_label
    table = [{"rank": i, by: label(r.key, lang), "count": round(r.count), "share": f"{100 * r.share:.1f}%",
              "cumulative": f"{100 * r.cumulative:.1f}%", "previous": None if r.previous is None else round(r.previous),
              "change": _signed(None if r.change is None else 100 * r.change)} for i, r in enumerate(rows, 1)]
    keys = ["rank", by, "count", "share", "cumulative", "previous", "change"]
    figure = pareto_figure(rows, lang, t("an.pareto.title", lang), label=lambda key: label(key, lang))
    return figure, table, ui.columns(keys, lang)


@CALLBACKS.callback(
    Output(ids.AN_SUMMARY, "children"), Output(ids.AN_SUMMARY_TABLE, "data"),
    Output(ids.AN_SUMMARY_TABLE, "columns"), Input(ids.AN_FILTERS, "data"), State(ids.LANG, "data"))
def update_summary(data: FilterData | None, lang: str) -> tuple:
    """The three-highs summary in words and as a table."""
    if not data:
        return no_update, no_update, no_update
    f = _filters(data)
    s = up.summary_inputs(ctx().reads, _tz(), f, data["compare"], ctx().settings.study_area)
    if not s["total"]:
        return t("an.empty", lang), [], []
    names = _station_names(lang)
    text = summary_text(lang=lang, start=f.start, end=f.end, compare=data["compare"], stations=names, **s)
    rows = summary_table(s["top"][:5], names, lang)
    return text, rows, [{"id": k, "name": k} for k in (rows[0] if rows else {})]


@CALLBACKS.callback(
    Output(ids.AN_QUALITY, "data"), Output(ids.AN_QUALITY, "columns"), Output(ids.AN_QUALITY_STATE, "children"),
    Input(ids.AN_QUALITY_RUN, "n_clicks"), Input(ids.AN_FILTERS, "data"), State(ids.LANG, "data"),
    prevent_initial_call=True)
def update_quality(_: int | None, data: FilterData | None, lang: str) -> tuple:
    """PAI and hit rate at 1/3/5 % of the study area, per method and cell size, when asked for.

    Scoring the methods splits the period and ranks every cell three ways at three resolutions:
    seconds of CPU for a year of a million incidents, which would hold up every other panel on
    each filter change; so a filter change only clears the table, and the button computes it.
    """
    if dash_ctx.triggered_id != ids.AN_QUALITY_RUN or not data:
        return [], [], t("an.quality.press", lang)
    rows = [{"method": t(f"an.method.{method}", lang), "res": f"H3-{res}", "area": f"{100 * r.share:.0f}%",
             "cells": r.cells, "hits": round(r.hits), "total": round(r.total), "hit_rate": f"{100 * r.hit_rate:.1f}%",
             "pai": round(r.pai, 2)}
            for method, res, r in up.quality(ctx().reads, _tz(), _filters(data), study_area=ctx().settings.study_area)]
    return rows, ui.columns(["method", "res", "area", "cells", "hits", "total", "hit_rate", "pai"], lang), ""


@CALLBACKS.callback(
    Output(ids.AN_CELL, "data"), Output(ids.AN_CELL, "columns"), Output(ids.AN_CELL_TITLE, "children"),
    Output(ids.AN_FOCUS, "value"),
    Input(ids.AN_HEX, "clickData"), Input(ids.AN_TOP, "active_cell"), State(ids.AN_TOP, "derived_viewport_data"),
    State(ids.AN_FILTERS, "data"), State(ids.AN_RES, "value"), State(ids.AN_MAP, "zoom"),
    State(ids.LANG, "data"), prevent_initial_call=True)
def show_cell(click: dict | None, active: dict | None, top_rows: list | None, data: FilterData | None, res_pick: str,
              zoom: float | None, lang: str) -> tuple:
    """The incidents of the cell clicked on the map or in the top-N table; focus the peak hours on it."""
    if dash_ctx.triggered_id == ids.AN_TOP:
        if not active or not top_rows or active["row"] >= len(top_rows):
            return (no_update,) * 4
        cell = int(top_rows[active["row"]]["cell"])
    elif click and click.get("properties", {}).get("cell"):
        cell = int(click["properties"]["cell"])
    else:
        return (no_update,) * 4
    if not data:
        return (no_update,) * 4
    import h3.api.basic_int as h3  # noqa: PLC0415 - only needed here

    res = h3.get_resolution(cell)
    rows = ctx().reads.run(q.cell_incidents, _filters(data), res, cell)
    tz, names = ZoneInfo(_tz()), _station_names(lang)
    table = [{"id": r["id"], "time": r["ts"].astimezone(tz).strftime("%Y-%m-%d %H:%M"),
              "type": type_label(r["type"], lang),
              "priority": r["priority"], "station": names.get(r["station"], r["station"] or ""), "address": r["address"] or "",
              "state": r["state"]} for r in rows]
    lat, lon = h3.cell_to_latlng(cell)
    title = f"{t('an.cell', lang)}: {lat:.4f},{lon:.4f} (H3-{res}) · {len(rows)}"
    cols = ui.columns(["id", "time", "type", "priority", "station", "address", "state"], lang,
                      {"station": t("common.station", lang)})
    focus = f"cell:{res}:{cell}"
    return table, cols, title, focus


TABLES = {"top": ids.AN_TOP, "types": ids.AN_TYPES_TABLE, "summary": ids.AN_SUMMARY_TABLE,
          "quality": ids.AN_QUALITY, "cell": ids.AN_CELL, "outside": ids.AN_OUTSIDE}


@CALLBACKS.callback(
    Output(ids.AN_DOWNLOAD, "data"), Input(ids.an_csv_button(ALL), "n_clicks"),
    *[State(table, prop) for table in TABLES.values() for prop in ("data", "columns")],
    prevent_initial_call=True)
def download_csv(clicks: list[int | None], *tables: list[dict[str, Any]] | None) -> Any:
    """The clicked table as shown (its columns and headings) as CSV, UTF-8 with a BOM so that
    spreadsheet programs read the Chinese right."""
    if not dash_ctx.triggered_id or not any(clicks):
        return no_update
    name = dash_ctx.triggered_id.get("table")
    if name not in TABLES:
        raise BadInput(f"bad input: no table {str(name)[:40]!r}")
    index = list(TABLES).index(name)
    rows, columns = tables[2 * index] or [], tables[2 * index + 1] or []
    if not all(isinstance(c.get("id"), str) and isinstance(c.get("name"), str) for c in columns):
        raise BadInput("bad input: a table column needs a text id and name")
    frame = pd.DataFrame(rows, columns=[c["id"] for c in columns]).map(csv_cell)
    csv = frame.rename(columns={c["id"]: c["name"] for c in columns}).to_csv(index=False)
    ctx().db.act(audit.export, current_actor("analysis"), f"analysis.{name}", len(frame), {})
    return {"content": "\ufeff" + csv, "filename": f"qingzhi-{name}.csv", "type": "text/csv"}
