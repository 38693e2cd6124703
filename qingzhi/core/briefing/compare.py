"""A figure beside the one it is compared with: change, percentage and direction, never a
division by zero (a base of zero or no base at all is `no_data`)."""

from __future__ import annotations

from typing import Any


def ratio(part: float | None, whole: float | None) -> float | None:
    """part / whole, or None where the whole is missing or zero (no data, not zero)."""
    if part is None or not whole:
        return None
    return part / whole


def compare(value: float | None, base: float | None) -> dict[str, Any]:
    """`value`, `base`, `change`, `pct` (of the base, None without one) and `direction`
    (`up`, `down`, `flat`, or `no_data` where either side is missing or the base is zero)."""
    if value is None or base is None:
        return {"value": value, "base": base, "change": None, "pct": None, "direction": "no_data"}
    change = value - base
    pct = ratio(change, base)
    if pct is None:
        direction = "no_data"
    else:
        direction = "up" if change > 0 else "down" if change < 0 else "flat"
    return {"value": value, "base": base, "change": change, "pct": None if pct is None else pct * 100,
            "direction": direction}


def decline_rate(value: float | None, base: float | None) -> float | None:
    """How far a count fell against its base, in % of the base (negative: it rose); None without a base."""
    share = ratio(None if value is None or base is None else base - value, base)
    return None if share is None else share * 100
