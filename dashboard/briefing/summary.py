"""The briefing's summary in words (综述), Chinese or English, from the core's figures."""

from __future__ import annotations

from typing import Any

from dashboard.briefing.names import station_name
from dashboard.i18n import t, type_label


def _change(cmp: dict[str, Any], lang: str) -> str:
    if cmp["direction"] == "no_data":
        return t("brief.no_data", lang)
    if cmp["direction"] == "flat":
        return t("brief.flat", lang)
    return t("brief.sum.change", lang).format(dir=t(f"brief.{cmp['direction']}", lang), pct=f"{abs(cmp['pct']):.1f}")


def _share(x: float | None, lang: str) -> str:
    return t("brief.no_data", lang) if x is None else f"{100 * x:.1f}%"


def summary(b: dict[str, Any], lang: str) -> list[str]:
    """Paragraphs: calls and the notable headlines, repeat calls, the three highs, the closed loop."""
    label = b["period"].label
    heads = {h["key"]: h for h in b["headlines"]}
    calls = heads["calls"]
    if not calls["value"]:
        return [t("brief.sum.empty", lang).format(label=label)]
    out = [t("brief.sum.calls", lang).format(label=label, n=calls["value"], prev=_change(calls["prev"], lang),
                                            yoy=_change(calls["yoy"], lang))]
    parts = [t("brief.sum.head", lang).format(name=t(f"brief.head.{k}", lang), n=h["value"],
                                               prev=_change(h["prev"], lang))
             for k, h in heads.items() if k != "calls" and (h["value"] or h["prev"]["base"])]
    if parts:
        out.append(("；" if lang == "zh" else "; ").join(parts) + ("。" if lang == "zh" else "."))
    rep = b["repeats"]
    out.append(t("brief.sum.repeats", lang).format(share=_share(rep["share"], lang), yoy=_change(rep["yoy"], lang)))
    high = b["busiest"]
    if high["type"]:
        out.append(t("brief.sum.three_highs", lang).format(
            type=type_label(high["type"]["key"], lang), tn=high["type"]["n"],
            station=station_name(b, high["station"]["key"], lang), sn=high["station"]["n"],
            hour=f"{high['hour']['key']:02d}", hn=high["hour"]["n"]))
    loop = b["closed_loop"]
    mean = t("brief.no_data", lang) if loop["mean"] is None else f"{loop['mean']:.2f}"
    out.append(t("brief.sum.loop", lang).format(closed=loop["closed"], n=loop["incidents"], mean=mean,
                                                 rated=loop["rated"], late=b["overdue"]["count"]))
    return out
