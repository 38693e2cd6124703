"""Frequent types: counts ranked with cumulative share (Pareto) and change against a comparison."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Ranked:
    """One row of a Pareto table."""

    key: str
    count: float
    share: float          # of all incidents in the period
    cumulative: float     # share of this row and all above it
    previous: float | None  # count in the comparison period; None when no records cover that period
    change: float | None    # relative change vs the comparison period; None when it had none or no records


def change(now: float, before: float) -> float | None:
    """Relative change (0.25 = +25 %); None when the comparison is zero."""
    return (now - before) / before if before else None


def pareto(counts: Mapping[str, float], previous: Mapping[str, float] | None = None) -> list[Ranked]:
    """Rows ranked by count (most first, ties by key), with share, cumulative share and change
    (`previous` None: the comparison period has no records, so neither has a value)."""
    total = float(sum(counts.values()))
    rows, running = [], 0.0
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        running += n
        before = None if previous is None else float(previous.get(key, 0.0))
        rows.append(Ranked(key, float(n), n / total if total else 0.0, running / total if total else 0.0,
                           before, None if before is None else change(n, before)))
    return rows


def category_of(type_: str) -> str:
    """The category of a type code: the part before the first dot ('theft.ebike' → 'theft')."""
    return type_.split(".", 1)[0]
