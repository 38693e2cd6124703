"""Plotly figures of the analysis page: the 7×24 heat map and the frequent-types Pareto chart."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import plotly.graph_objects as go

from dashboard.i18n import t
from qingzhi.analytics.aoristic import busiest_window, matrix_7x24
from qingzhi.analytics.ranking import Ranked

FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"


def weekday_names(lang: str) -> list[str]:
    """Monday … Sunday in the page language."""
    return [t(f"an.weekday.{i}", lang) for i in range(7)]


def _layout(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01, "font": {"size": 14}}, font={"family": FONT, "size": 12},
                      margin={"l": 60, "r": 20, "t": 40, "b": 40}, paper_bgcolor="white", plot_bgcolor="white")
    return fig


def heat_figure(how: np.ndarray, lang: str, title: str) -> go.Figure:
    """Weekday × hour heat map (local time) with the busiest 4-hour window marked."""
    m = matrix_7x24(how)
    fig = go.Figure(go.Heatmap(
        z=m, x=[f"{h:02d}" for h in range(24)], y=weekday_names(lang), colorscale="YlOrRd",
        hovertemplate="%{y} %{x}:00 · %{z:.1f}<extra></extra>", colorbar={"title": {"text": t("an.count", lang)}},
    ))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text=t("an.hour", lang), type="category")
    if m.sum() > 0:
        start, _ = busiest_window(m)
        for h in range(start, start + 4):  # the window may wrap past midnight
            x0 = h % 24
            fig.add_shape(type="rect", x0=x0 - 0.5, x1=x0 + 0.5, y0=-0.5, y1=6.5,
                          line={"color": "#1f4e9c", "width": 2})
    return _layout(fig, title)


def pareto_figure(rows: list[Ranked], lang: str, title: str, *, label: Callable[[str], str] = str,
                  limit: int = 15) -> go.Figure:
    """Bars of the most frequent types with the cumulative share as a line (Pareto chart)."""
    rows = rows[:limit]
    keys = [label(r.key) for r in rows]
    fig = go.Figure()
    fig.add_bar(x=keys, y=[r.count for r in rows], name=t("an.count", lang), marker_color="#d9472b",
                hovertemplate="%{x}: %{y:.0f}<extra></extra>")
    fig.add_scatter(x=keys, y=[100 * r.cumulative for r in rows], name=t("an.cumulative", lang), yaxis="y2",
                    mode="lines+markers", line={"color": "#1f4e9c"}, hovertemplate="%{y:.0f}%<extra></extra>")
    fig.update_layout(yaxis={"title": {"text": t("an.count", lang)}},
                      yaxis2={"title": {"text": t("an.cumulative", lang) + " %"}, "overlaying": "y", "side": "right",
                              "range": [0, 105], "showgrid": False,
                              "tickvals": [0, 25, 50, 75, 100], "ticksuffix": "%"},
                      legend={"orientation": "h", "y": -0.3}, xaxis={"tickangle": -30})
    return _layout(fig, title)
