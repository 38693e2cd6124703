"""Peak hours: hour-of-week positions, aoristic spreading, the 7×24 matrix and busiest windows.

Hour of week (`how`) counts from Monday 00:00 local (0) to Sunday 23:00 (167). An incident
known only within a time window is spread over the hours it may have happened in, each hour
weighted by its share of the window (aoristic analysis, Ratcliffe 2000), so that a burglary
discovered in the morning counts partly in the night instead of all at discovery time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

HOURS_PER_WEEK = 168


def hour_of_week(local: datetime) -> int:
    """The hour of week (0 = Monday 00:00) of a local wall-clock time."""
    return local.weekday() * 24 + local.hour


def aoristic_weights(start: datetime, end: datetime) -> np.ndarray:
    """168 weights summing to 1: the share of [start, end) falling in each hour of week.

    `start` and `end` are local wall-clock times (naive or aware in the same zone). Whole
    weeks spread evenly, so a month-long window costs no more than a week-long one.
    """
    total_h = (end - start).total_seconds() / 3600.0
    weights = np.zeros(HOURS_PER_WEEK)
    if total_h <= 0:
        weights[hour_of_week(start)] = 1.0
        return weights
    weeks = int(total_h // HOURS_PER_WEEK)
    weights += weeks
    rest_start = start + timedelta(hours=HOURS_PER_WEEK * weeks)
    rest_h = total_h - HOURS_PER_WEEK * weeks
    # Walk the remaining < 168 hours hour by hour: first a partial hour up to the next full hour.
    first = rest_start.replace(minute=0, second=0, microsecond=0)
    offset_h = (rest_start - first).total_seconds() / 3600.0
    edges = np.arange(-offset_h, rest_h + 1.0, 1.0)  # hour boundaries relative to rest_start
    lo = np.clip(edges[:-1], 0.0, rest_h)
    hi = np.clip(edges[1:], 0.0, rest_h)
    spans = hi - lo
    bins = (hour_of_week(first) + np.arange(len(spans))) % HOURS_PER_WEEK
    np.add.at(weights, bins, spans)
    return weights / weights.sum()


def matrix_7x24(how_weights: np.ndarray) -> np.ndarray:
    """A 168-vector as the 7 (Monday first) × 24 matrix."""
    return np.asarray(how_weights, dtype=float).reshape(7, 24)


def busiest_hours(matrix: np.ndarray, n: int = 3) -> list[int]:
    """The `n` hours of the day (0–23) with the most incidents over all weekdays, busiest first."""
    by_hour = np.asarray(matrix).sum(axis=0)
    order = np.argsort(-by_hour, kind="stable")
    return [int(h) for h in order[:n] if by_hour[h] > 0]


def busiest_window(matrix: np.ndarray, width: int = 4) -> tuple[int, float]:
    """(first hour, share of all incidents) of the busiest `width`-hour window of the day.

    The day wraps around midnight, so 22:00–02:00 is a window like any other.
    """
    by_hour = np.asarray(matrix).sum(axis=0)
    total = by_hour.sum()
    if total <= 0:
        return 0, 0.0
    sums = np.array([by_hour[(np.arange(width) + h) % 24].sum() for h in range(24)])
    start = int(np.argmax(sums))
    return start, float(sums[start] / total)


def format_window(start: int, width: int = 4) -> str:
    """'20:00–24:00' for a window starting at 20."""
    end = start + width
    return f"{start:02d}:00–{end if end <= 24 else end - 24:02d}:00"
