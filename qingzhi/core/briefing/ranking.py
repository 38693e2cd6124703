"""The station ranking: each figure scaled 0–1 across the stations (best 1; the direction from
config.RANKED), then a weighted mean over the figures a station has data for, as 0–100."""

from __future__ import annotations

from typing import Any

from qingzhi.core.briefing.config import RANKED


def rank(figures: dict[str, dict[str, float | None]], weights: dict[str, float]) -> list[dict[str, Any]]:
    """[{station, score (None without any figure), rank, figures}] best first; ties share a rank."""
    scaled: dict[str, dict[str, float]] = {s: {} for s in figures}
    for name, higher_better in RANKED.items():
        values = {s: f[name] for s, f in figures.items() if f.get(name) is not None}
        if not values or not weights.get(name):
            continue
        lo, hi = min(values.values()), max(values.values())
        for s, v in values.items():
            x = (v - lo) / (hi - lo) if hi > lo else 1.0  # all equal: all best
            scaled[s][name] = x if higher_better or hi == lo else 1.0 - x
    rows = []
    for s, parts in scaled.items():
        total = sum(weights[n] for n in parts)
        score = None if not total else 100 * sum(weights[n] * x for n, x in parts.items()) / total
        rows.append({"station": s, "score": score, "figures": figures[s]})
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), r["station"]))
    place, previous = 0, object()
    for i, r in enumerate(rows, 1):
        if r["score"] != previous:
            place, previous = i, r["score"]
        r["rank"] = place if r["score"] is not None else None
    return rows
