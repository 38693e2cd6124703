"""The combined "three highs" summary: words and a table, ready to paste into a briefing."""

from __future__ import annotations

from datetime import date
from typing import Any

from dashboard.analysis.view import types_text
from dashboard.i18n import t, type_label
from qingzhi.analytics.ranking import Ranked, change


def _change(now: float, before: float | None, lang: str) -> str:
    """'+12%'; 'new' when the comparison period had none; 'no data' when no records cover it."""
    if before is None:
        return t("an.no_data", lang)
    x = change(now, before)
    if x is None:
        return t("an.new", lang)
    return f"{'+' if x >= 0 else ''}{100 * x:.0f}%"


def summary_text(*, lang: str, start: date, end: date, total: float, previous: float | None, compare: str,
                 top: list[dict[str, Any]], peak: dict[str, Any], ranked: list[Ranked], stations: dict[str, str],
                 n_areas: int = 3, n_types: int = 3) -> str:
    """The summary paragraph in the page language."""
    zh = lang == "zh"
    sep, stop = ("；", "。") if zh else ("; ", ". ")
    head = t("an.sum.head", lang).format(start=start.isoformat(), end=end.isoformat(), total=f"{total:,.0f}",
                                         change=_change(total, previous, lang), compare=t(f"an.cmp.{compare}", lang))
    areas = []
    for r in top[:n_areas]:
        where = f"{r['lat']:.4f},{r['lon']:.4f}"
        station = stations.get(r["station"], r["station"])
        areas.append(t("an.sum.area", lang).format(
            rank=r["rank"], where=where, station=f"（{station}）" if zh and station else f" ({station})" if station else "",
            count=f"{r['count']:.0f}", types=types_text(r["dominant"], lang) or "—", peak=r["peak"] or "—"))
    hours = ("、" if zh else ", ").join(f"{h:02d}:00" for h in peak["hours"])
    weekday = t(f"an.weekday.{peak['weekday']}", lang) if peak["weekday"] is not None else "—"
    when = t("an.sum.when", lang).format(window=peak["window"] or "—", share=f"{100 * peak['window_share']:.0f}%",
                                         hours=hours or "—", weekday=weekday)
    def kind(r: Ranked) -> str:
        how = f"{100 * r.share:.0f}%{'，' if zh else ', '}{_change(r.count, r.previous, lang)}"
        return f"{type_label(r.key, lang)} {r.count:.0f}" + (f"（{how}）" if zh else f" ({how})")
    kinds = sep.join(kind(r) for r in ranked[:n_types])
    top_share = ranked[min(n_types, len(ranked)) - 1].cumulative if ranked else 0.0
    what = t("an.sum.what", lang).format(types=kinds or "—", n=min(n_types, len(ranked)), share=f"{100 * top_share:.0f}%")
    return (head + stop + t("an.sum.areas", lang) + sep.join(areas) + stop + when + stop + what + stop).strip()


def summary_table(top: list[dict[str, Any]], stations: dict[str, str], lang: str) -> list[dict[str, Any]]:
    """One row per top area: where, station, count, change, dominant types, peak hours."""
    return [{
        t("an.col.rank", lang): r["rank"],
        t("an.col.where", lang): f"{r['lat']:.4f},{r['lon']:.4f}",
        t("common.station", lang): stations.get(r["station"], r["station"]),
        t("an.col.count", lang): r["count"],
        t("an.col.change", lang): "" if r["change"] is None else f"{r['change']:+.0f}%",
        t("an.col.types", lang): types_text(r["dominant"], lang),
        t("an.col.peak", lang): r["peak"],
    } for r in top]
