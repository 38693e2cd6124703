"""Times and durations as every page shows them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def fmt_time(ts: datetime | None, tz: str, *, with_date: bool = False) -> str:
    """A timestamp in the configured time zone: HH:MM:SS, or MM-DD HH:MM:SS."""
    if ts is None:
        return "—"
    local = ts.astimezone(ZoneInfo(tz))
    return local.strftime("%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def fmt_dur(seconds: float | None) -> str:
    """Seconds as m:ss (or h:mm:ss)."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60}:{rem % 60:02d}"
