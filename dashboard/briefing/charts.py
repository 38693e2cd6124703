"""The briefing's charts as plotly figures (the page shows them live) and as PNG images for the
exports, made by plotly's own exporter, kaleido, which drives the machine's Chromium."""

from __future__ import annotations

import math
import warnings
from collections import Counter
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dashboard.briefing.basemap import Basemap, on_tiles, padded, stitch
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


def figures(b: dict[str, Any], lang: str, basemap: Basemap | None = None) -> dict[str, go.Figure]:
    """name → figure: the map of calls (on the basemap's streets, if any), headlines against the previous
    period and last year, satisfaction, response."""
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
    return {"map": incident_map(b, lang, basemap), "headlines": _layout(heads, t("brief.chart.headlines", lang)),
            "satisfaction": _layout(sat, t("brief.chart.satisfaction", lang)),
            "response": _layout(resp, t("brief.chart.response", lang))}


def incident_map(b: dict[str, Any], lang: str, basemap: Basemap | None = None) -> go.Figure:
    """Where the calls were, by category (the six commonest, the rest as one), with the stations: on the
    streets of the local MBTiles file when there is one (dashboard/briefing/basemap.py), else on plain
    axes at the true east–west scale, so that it needs no tile server either way (closed networks)."""
    pts, st = b["points"], b["stations"]
    streets = None
    if basemap is not None and (pts or st):
        px, py = on_tiles(basemap, [p["lat"] for p in pts], [p["lon"] for p in pts])
        sx, sy = on_tiles(basemap, [s["lat"] for s in st], [s["lon"] for s in st])
        box = padded(px if pts else sx, py if pts else sy)
        streets = stitch(basemap.tiles, *box)
    if streets is None:
        px, py = np.array([p["lon"] for p in pts]), np.array([p["lat"] for p in pts])
        sx, sy = np.array([s["lon"] for s in st]), np.array([s["lat"] for s in st])
    common = [c for c, _ in Counter(p["category"] for p in pts).most_common(6)]
    fig = go.Figure()
    for cat in [*common, None]:
        mine = [i for i, p in enumerate(pts) if (p["category"] == cat if cat else p["category"] not in common)]
        if mine:
            fig.add_trace(go.Scatter(x=px[mine], y=py[mine], mode="markers",
                                     marker={"size": 6, "opacity": 0.8, "line": {"width": 0.5, "color": "#fff"}},
                                     name=category_label(cat, lang) if cat else t("brief.chart.other", lang)))
    fig.add_trace(go.Scatter(x=sx, y=sy, mode="markers+text",
                             text=[station_name(b, s["id"], lang) for s in st], textposition="top center",
                             name=t("brief.col.station", lang),
                             marker={"symbol": "star", "size": 13, "color": "#111827"}))
    _layout(fig, t("brief.chart.map", lang))
    fig.update_layout(height=520, legend={"orientation": "v", "y": 1, "x": 1.02}, plot_bgcolor="#f8fafc")
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    if streets is None:
        lat0 = sum(p["lat"] for p in pts) / len(pts) if pts else (st[0]["lat"] if st else 0.0)
        fig.update_yaxes(scaleanchor="x", scaleratio=1 / max(math.cos(math.radians(lat0)), 0.1),
                         showticklabels=False, rangemode="normal", showgrid=False)
        return fig
    west, south, east, north = box
    fig.add_layout_image(source=streets.image, xref="x", yref="y", x=streets.west, y=streets.north,
                         sizex=streets.east - streets.west, sizey=streets.north - streets.south,
                         sizing="stretch", layer="below")
    fig.update_xaxes(range=[west, east])
    fig.update_yaxes(range=[south, north], scaleanchor="x", scaleratio=1, showticklabels=False, rangemode="normal",
                     showgrid=False, zeroline=False)
    if basemap.tiles.attribution:
        fig.add_annotation(text=basemap.tiles.attribution, xref="x domain", yref="y domain", x=1, y=0, xanchor="right",
                           yanchor="bottom", showarrow=False, font={"size": 10, "color": "#374151"},
                           bgcolor="rgba(255,255,255,0.7)")
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
