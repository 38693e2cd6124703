"""The briefing's charts as plotly figures (the page shows them live) and as PNG images for the
exports, made by plotly's own exporter, kaleido, which drives the machine's Chromium."""

from __future__ import annotations

import math
import warnings
from collections import Counter
from typing import Any

import plotly.graph_objects as go

from dashboard.briefing.names import station_name
from dashboard.i18n import category_label, t

FONT = "Noto Sans CJK SC, WenQuanYi Zen Hei, sans-serif"
SIZE = (900, 360)


def _layout(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(title=title, font={"family": FONT, "size": 13}, margin={"l": 50, "r": 20, "t": 50, "b": 90},
                      plot_bgcolor="#fff", paper_bgcolor="#fff", legend={"orientation": "h", "y": -0.3},
                      width=SIZE[0], height=SIZE[1])
    fig.update_yaxes(gridcolor="#e5e7eb", rangemode="tozero")
    return fig


def figures(b: dict[str, Any], lang: str) -> dict[str, go.Figure]:
    """name → figure: headlines against the previous period and last year, satisfaction, response."""
    names = [t(f"brief.head.{h['key']}", lang) for h in b["headlines"]]
    heads = go.Figure([
        go.Bar(name=t("brief.col.value", lang), x=names, y=[h["value"] for h in b["headlines"]], marker_color="#1d4ed8"),
        go.Bar(name=t("brief.col.prev", lang), x=names, y=[h["prev"]["base"] for h in b["headlines"]],
               marker_color="#93c5fd"),
        go.Bar(name=t("brief.col.yoy", lang), x=names, y=[h["yoy"]["base"] for h in b["headlines"]],
               marker_color="#d1d5db"),
    ])
    dist = b["closed_loop"]["distribution"]
    sat = go.Figure(go.Bar(x=[str(s) for s in dist], y=list(dist.values()), marker_color="#059669"))
    by_prio = b["response"]["priority"]
    resp = go.Figure([
        go.Bar(name="p50", x=[f"P{r['grp']}" for r in by_prio], y=[r["received_on_scene_p50"] for r in by_prio],
               marker_color="#f59e0b"),
        go.Bar(name="p90", x=[f"P{r['grp']}" for r in by_prio], y=[r["received_on_scene_p90"] for r in by_prio],
               marker_color="#b45309"),
    ])
    return {"map": incident_map(b, lang), "headlines": _layout(heads, t("brief.chart.headlines", lang)),
            "satisfaction": _layout(sat, t("brief.chart.satisfaction", lang)),
            "response": _layout(resp, t("brief.chart.response", lang))}


def incident_map(b: dict[str, Any], lang: str) -> go.Figure:
    """Where the calls were, by category (the six commonest, the rest as one), with the stations; drawn
    on plain axes at the true east–west scale, so it needs no map tiles (closed networks)."""
    pts = b["points"]
    common = [c for c, _ in Counter(p["category"] for p in pts).most_common(6)]
    fig = go.Figure()
    for cat in [*common, None]:
        mine = [p for p in pts if (p["category"] == cat if cat else p["category"] not in common)]
        if mine:
            fig.add_trace(go.Scatter(x=[p["lon"] for p in mine], y=[p["lat"] for p in mine], mode="markers",
                                     marker={"size": 6, "opacity": 0.75},
                                     name=category_label(cat, lang) if cat else t("brief.chart.other", lang)))
    st = b["stations"]
    fig.add_trace(go.Scatter(x=[s["lon"] for s in st], y=[s["lat"] for s in st], mode="markers+text",
                             text=[station_name(b, s["id"], lang) for s in st], textposition="top center",
                             name=t("brief.col.station", lang),
                             marker={"symbol": "star", "size": 13, "color": "#111827"}))
    lat0 = sum(p["lat"] for p in pts) / len(pts) if pts else (st[0]["lat"] if st else 0.0)
    _layout(fig, t("brief.chart.map", lang))
    fig.update_yaxes(scaleanchor="x", scaleratio=1 / max(math.cos(math.radians(lat0)), 0.1), showticklabels=False,
                     rangemode="normal", showgrid=False)
    fig.update_xaxes(showticklabels=False, constrain="domain")
    fig.update_layout(height=520, legend={"orientation": "v", "y": 1, "x": 1.02}, plot_bgcolor="#f8fafc")
    return fig


def images(figs: dict[str, go.Figure]) -> dict[str, bytes]:
    """name → PNG bytes, through one kaleido browser session for all of them.

    Raises RuntimeError (with kaleido's reason) when no image can be made (no Chromium)."""
    import kaleido
    import plotly.io as pio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kaleido warns that per-call options are ignored with a server
        try:
            kaleido.start_sync_server(silence_warnings=True)
        except Exception:  # noqa: BLE001 - a server already running is fine; a real failure shows below
            pass
        try:
            return {name: pio.to_image(fig, format="png", width=SIZE[0], height=fig.layout.height or SIZE[1],
                                       scale=1.5)
                    for name, fig in figs.items()}
        except Exception as exc:  # noqa: BLE001 - kaleido raises many kinds; the export says why
            raise RuntimeError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            kaleido.stop_sync_server(silence_warnings=True)
