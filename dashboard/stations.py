"""Stations by name: a page shows a station as its name in the page's language, never as its id."""

from __future__ import annotations

from typing import Any

from qingzhi.core.stations import local_name, station_rows


def station_names(db: Any, lang: str) -> dict[str, str]:
    """id → name in `lang`, read through `db` (`.run`)."""
    return {r["id"]: local_name(r, lang) for r in db.run(station_rows)}
