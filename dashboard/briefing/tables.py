"""The briefing's tables, one list of rows per section, shared by the page, the HTML/PDF and the
CSV export. Cells hold raw values (numbers, None for "no data"); `cell()` formats one for reading."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from typing import Any

from dashboard.briefing.names import station_name
from dashboard.formats import fmt_time
from dashboard.i18n import t, type_label
from qingzhi.core.briefing.config import RANKED

Cell = str | int | float | bool | None


@dataclass(frozen=True)
class Table:
    """Column headings (already in the language) and rows of raw cells."""

    columns: list[str]
    rows: list[list[Cell]]


def cell(value: Cell, lang: str) -> str:
    """A cell as read: None is "no data", floats have one decimal, booleans are yes/no."""
    if value is None:
        return t("brief.no_data", lang)
    if isinstance(value, bool):
        return t("brief.col.yes" if value else "brief.col.no", lang)
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def pct(x: float | None) -> float | None:
    """A share (0–1) as a percentage."""
    return None if x is None else 100 * x


def direction(cmp: dict[str, Any], lang: str) -> str:
    """上升 / 下降 / 持平, or no data."""
    d = cmp["direction"]
    return t("brief.no_data" if d == "no_data" else f"brief.{d}", lang)


def _cols(lang: str, *keys: str) -> list[str]:
    return [t(f"brief.col.{k}", lang) for k in keys]


def headlines(b: dict[str, Any], lang: str) -> Table:
    """十个下降: each headline this period, the previous period and a year back."""
    return Table(_cols(lang, "headline", "value", "prev", "pct_prev", "yoy", "pct_yoy", "direction"),
                 [[t(f"brief.head.{h['key']}", lang), h["value"], h["prev"]["base"], h["prev"]["pct"],
                   h["yoy"]["base"], h["yoy"]["pct"], direction(h["prev"], lang)] for h in b["headlines"]])


def rates(b: dict[str, Any], lang: str) -> Table:
    """四率 and the service rates, with what each rests on."""
    r, loop, rep, gov = b["rates"], b["closed_loop"], b["repeats"], b["governance"]
    pop = (t("brief.note.population", lang).format(n=f"{r['population']:,}") if r["population"]
           else t("brief.note.no_population", lang))
    rows: list[list[Cell]] = [
        [t("brief.rate.decline_prev", lang), r["decline_prev"], ""],
        [t("brief.rate.decline_yoy", lang), r["decline_yoy"], ""],
        [t("brief.rate.preventable", lang), r["preventable"], ""],
        [t("brief.rate.preventable_per_10k", lang), r["preventable_per_10k"], pop],
        [t("brief.rate.check_hit", lang), pct(r["check_hit"]),
         t("brief.note.checks", lang).format(checks=r["checks"], hits=r["hits"])],
        [t("brief.rate.duty_rate", lang), pct(r["duty_rate"]),
         t("brief.note.duty_rate", lang).format(done=round(r["duty"]["delivered_unit_min"]),
                                                need=round(r["duty"]["required_unit_min"]))],
        [t("brief.rate.visible_rate", lang), pct(r["visible_rate"]),
         t("brief.note.visible_rate", lang).format(seen=r["duty"]["zone_hours_seen"], hours=r["duty"]["zone_hours"])],
        [t("brief.rate.diverted", lang), b["diverted"]["total"],
         t("brief.note.diverted", lang).format(prev=direction(b["diverted"]["prev"], lang))],
        [t("brief.rate.tasks", lang), "{opened} / {closed} / {effective}".format(**gov),
         t("brief.note.tasks", lang).format(reopened=gov["reopened"], escalated=gov["escalated"],
                                            late=gov["late_steps"], open=gov["open_now"])],
        [t("brief.rate.closure", lang), pct(loop["closed"] / loop["incidents"]) if loop["incidents"] else None,
         f"{loop['closed']}/{loop['incidents']}"],
        [t("brief.rate.reviewed", lang), pct(loop["reviewed"] / loop["incidents"]) if loop["incidents"] else None,
         f"{loop['reviewed']}/{loop['incidents']}"],
        [t("brief.rate.satisfaction", lang), loop["mean"], f"n={loop['rated']}"],
        [t("brief.rate.repeat_share", lang), pct(rep["share"]), f"{rep['repeats']}/{rep['calls']}"],
        [t("brief.rate.repeat_yoy", lang), rep["yoy"]["pct"], direction(rep["yoy"], lang)],
        [t("brief.rate.camera_share", lang), pct(b["cameras"]["*"]["share"]), ""],
    ]
    return Table(_cols(lang, "figure", "value", "note"), rows)


def response(b: dict[str, Any], by: str, lang: str) -> Table:
    """p50/p90 (seconds) of received→assigned and received→on scene, one row per group."""
    rows = [[type_label(r["grp"], lang) if by == "type" else station_name(b, r["grp"], lang), r["incidents"],
             r["received_assigned_p50"], r["received_assigned_p90"], r["received_on_scene_p50"],
             r["received_on_scene_p90"]]
            for r in b["response"][by]]
    return Table(_cols(lang, by, "incidents", "assign_p50", "assign_p90", "scene_p50", "scene_p90"), rows)


def overdue(b: dict[str, Any], lang: str, tz: str) -> Table:
    """The period's overdue incidents."""
    return Table(_cols(lang, "id", "ts", "type", "priority", "station", "state", "late_assign", "late_scene"),
                 [[r["id"], fmt_time(r["ts"], tz, with_date=True), type_label(r["type"], lang), r["priority"],
                   station_name(b, r["station"], lang), t(f"state.{r['state']}", lang), r["late_assign"],
                   r["late_on_scene"]]
                  for r in b["overdue"]["rows"]])


def satisfaction(b: dict[str, Any], lang: str) -> Table:
    """How many reviews gave each rating."""
    return Table(_cols(lang, "rating", "count"), [[s, n] for s, n in b["closed_loop"]["distribution"].items()])


def growing(b: dict[str, Any], lang: str) -> Table:
    """New and growing places."""
    return Table(_cols(lang, "place", "count", "before"), [[g["place"], g["n"], g["before"]] for g in b["growing"]])


def cameras(b: dict[str, Any], lang: str) -> Table:
    """Per station: on-scene minutes, recording minutes, share; faults and flat batteries."""
    faults = b["camera_faults"]["by_station"]
    names = sorted((set(b["cameras"]) | set(faults)) - {"*"}) + ["*"]
    return Table(_cols(lang, "station", "on_scene_min", "recording_min", "share", "faults", "flat"),
                 [[station_name(b, s, lang) if s != "*" else t("brief.scope_all", lang),
                   b["cameras"].get(s, {}).get("on_scene_s", 0) / 60, b["cameras"].get(s, {}).get("recording_s", 0) / 60,
                   pct(b["cameras"].get(s, {}).get("share")),
                   sum(f["faults"] for f in faults.values()) if s == "*" else faults.get(s, {}).get("faults", 0),
                   sum(f["flat"] for f in faults.values()) if s == "*" else faults.get(s, {}).get("flat", 0)]
                  for s in names])


def ranking(b: dict[str, Any], lang: str) -> Table:
    """Stations by weighted score, with the figures behind it."""
    cols = _cols(lang, "rank", "station", "score") + [t(f"brief.rank.{k}", lang) for k in RANKED]
    shares = ("check_hit", "closure", "camera")  # shown as %, like the rates above
    return Table(cols, [[r["rank"], station_name(b, r["station"], lang), r["score"],
                         *[pct(r["figures"].get(k)) if k in shares else r["figures"].get(k) for k in RANKED]]
                        for r in b["ranking"]])


def tasks(b: dict[str, Any], lang: str, tz: str) -> Table:
    """The meeting tasks live in the period and their status at its end."""
    return Table(_cols(lang, "task_id", "task", "station", "officer", "deadline", "status", "result"),
                 [[r["id"], r["title"], station_name(b, r["station"], lang) or t("brief.scope_all", lang),
                   r["officer"] or "", fmt_time(r["deadline"], tz, with_date=True),
                   t(f"brief.task.{r['status']}", lang), r["result"] or ""]
                  for r in b["tasks"]])


def all_tables(b: dict[str, Any], lang: str, tz: str) -> dict[str, Table]:
    """Every table of the briefing by name (the CSV file names)."""
    out = {"headlines": headlines(b, lang), "rates": rates(b, lang)}
    out.update({f"response_{by}": response(b, by, lang) for by in ("priority", "station", "type")})
    out.update({"overdue": overdue(b, lang, tz), "satisfaction": satisfaction(b, lang), "growing": growing(b, lang),
                "cameras": cameras(b, lang), "ranking": ranking(b, lang)})
    out["tasks"] = tasks(b, lang, tz)
    return out


def csv_zip(tables: dict[str, Table]) -> bytes:
    """One UTF-8 CSV (with BOM, so spreadsheets read Chinese) per table, in a zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, table in tables.items():
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(table.columns)
            writer.writerows([["" if v is None else v for v in row] for row in table.rows])
            zf.writestr(f"{name}.csv", "\ufeff" + text.getvalue())
    return buf.getvalue()
