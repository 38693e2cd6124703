"""Stations by name: a page shows a station as its name in the page's language, never as its id."""

from __future__ import annotations

from typing import Any

import asyncpg


async def _names(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT id, name_zh, name_en FROM stations")


def station_names(db: Any, lang: str) -> dict[str, str]:
    """id → name in `lang` (the id where a station has no name), read through `db` (`.run`)."""
    return {r["id"]: r["name_zh" if lang == "zh" else "name_en"] or r["id"] for r in db.run(_names)}
