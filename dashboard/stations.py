"""Stations by name: a page shows a station as its name in the page's language, never as its id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg


async def station_rows(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every station's id and names, by id."""
    return [dict(r) for r in await conn.fetch("SELECT id, name_zh, name_en FROM stations ORDER BY id")]


def local_name(row: Mapping[str, Any], lang: str) -> str:
    """A station row's name in `lang` (its id where it has none)."""
    return row["name_zh" if lang == "zh" else "name_en"] or row["id"]


def station_names(db: Any, lang: str) -> dict[str, str]:
    """id → name in `lang`, read through `db` (`.run`)."""
    return {r["id"]: local_name(r, lang) for r in db.run(station_rows)}
