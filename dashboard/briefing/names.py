"""Stations by name in the reader's language: the briefing's figures carry station ids, its `stations`
(the stations it covers, read from the stations table) their names."""

from __future__ import annotations

from typing import Any

from dashboard.i18n import t
from qingzhi.core.stations import local_name


def station_name(b: dict[str, Any], station: str | None, lang: str) -> str | None:
    """The station's name in `lang`; its id when the briefing has no name for it (None stays None)."""
    row = next((s for s in b["stations"] if s["id"] == station), None)
    return local_name(row, lang) if row else station


def scope_label(b: dict[str, Any], lang: str) -> str:
    """What the briefing covers: every station, or the names of the ones it is narrowed to."""
    if b["everywhere"] or not b["stations"]:
        return t("brief.scope_all", lang)
    return ", ".join(station_name(b, s["id"], lang) for s in b["stations"])
