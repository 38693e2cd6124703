"""Read queries of the duty page: which zones and stations a person may target, the plan's map
features, and the acknowledgement state of the commands just sent."""

from __future__ import annotations

import json
from typing import Any

import asyncpg


async def targets(conn: asyncpg.Connection, stations: list[str] | None) -> dict[str, list[str]]:
    """The stations and zones in the person's scope (for the level form)."""
    st = await conn.fetch("SELECT id FROM stations WHERE $1::text[] IS NULL OR id = ANY($1::text[]) ORDER BY id",
                          stations)
    zn = await conn.fetch("SELECT id FROM zones WHERE $1::text[] IS NULL OR station = ANY($1::text[]) ORDER BY id",
                          stations)
    return {"station": [r["id"] for r in st], "zone": [r["id"] for r in zn]}


async def zone_features(conn: asyncpg.Connection, stations: list[str] | None) -> dict[str, Any]:
    """The zones in scope as GeoJSON, with their level (the live map's style reads `alert_level`)."""
    rows = await conn.fetch(
        "SELECT id, station, boundary, alert_level FROM zones WHERE $1::text[] IS NULL OR station = ANY($1::text[])"
        " ORDER BY id", stations)
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": r["boundary"] if isinstance(r["boundary"], dict) else json.loads(r["boundary"]),
         "properties": {"id": r["id"], "name": r["id"], "station": r["station"], "alert_level": r["alert_level"]}}
        for r in rows]}



async def place_names(conn: asyncpg.Connection, lang: str) -> dict[str, dict[str, str]]:
    """{"zone": {id: name}, "station": {id: name}} in the page's language: a commander reads 转塘一巡区,
    not `zhuantang-z1` (ids stay in the tick boxes' values and the commands)."""
    col = "name_en" if lang == "en" else "name_zh"
    return {kind: {r["id"]: r[col] for r in await conn.fetch(f"SELECT id, {col} FROM {table}")}
            for kind, table in (("zone", "zones"), ("station", "stations"))}

def move_features(moves: list[dict[str, Any]]) -> dict[str, Any]:
    """Each move as a line from the unit to its zone's centre (or the hotspot's it goes to), with its ETA."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature",
         "geometry": {"type": "LineString", "coordinates": [[m["lon"], m["lat"]], [m["to_lon"], m["to_lat"]]]},
         "properties": {"unit": m["unit"], "zone": m["zone"], "hotspot": m.get("hotspot"),
                        "eta": f"{m['eta_s'] / 60:.1f} min",
                        "level_n": ("I", "II", "III", "IV").index(m["level"]) + 1}}
        for m in moves]}


async def command_states(conn: asyncpg.Connection, command_ids: list[str],
                         stations: list[str] | None) -> dict[str, bool]:
    """{command id: acknowledged} for the commands named, within the person's stations."""
    rows = await conn.fetch(
        "SELECT id::text AS id, ack_ts IS NOT NULL AS acked FROM commands WHERE id::text = ANY($1::text[])"
        " AND ($2::text[] IS NULL OR station = ANY($2::text[]))", command_ids, stations)
    return {r["id"]: r["acked"] for r in rows}
