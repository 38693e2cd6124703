"""Write the district's reference data (stations, zones, unit roster) into the database.

Idempotent upserts: running the simulator again with the same seed changes nothing, and a
unit's live columns (position, status, camera), which belong to the ingest, are never touched.
"""

from __future__ import annotations

import json

import asyncpg

from qingzhi.simulator.district import District
from qingzhi.simulator.fleet import UnitSpec


async def write_reference(conn: asyncpg.Connection, district: District, units: list[UnitSpec]) -> None:
    """Upsert stations, zones and units in one transaction."""
    proj = district.proj
    stations = []
    for s in district.stations:
        lat, lon = proj.to_latlon(s.x, s.y)
        stations.append((s.id, s.name_zh, s.name_en, float(lat), float(lon), json.dumps(proj.geojson(s.area))))
    zones = []
    for z in district.zones:
        c = z.area.representative_point()
        lat, lon = proj.to_latlon(c.x, c.y)
        zones.append((z.id, z.station, z.name_zh, z.name_en, json.dumps(proj.geojson(z.area)), float(lat), float(lon)))
    async with conn.transaction():
        await conn.executemany(
            """INSERT INTO stations (id, name_zh, name_en, lat, lon, boundary) VALUES ($1, $2, $3, $4, $5, $6::jsonb)
               ON CONFLICT (id) DO UPDATE SET name_zh = EXCLUDED.name_zh, name_en = EXCLUDED.name_en,
                   lat = EXCLUDED.lat, lon = EXCLUDED.lon, boundary = EXCLUDED.boundary
               WHERE (stations.name_zh, stations.name_en, stations.lat, stations.lon, stations.boundary)
                     IS DISTINCT FROM (EXCLUDED.name_zh, EXCLUDED.name_en, EXCLUDED.lat, EXCLUDED.lon, EXCLUDED.boundary)""",
            stations,
        )
        # alert_level and min_units are the commanders' settings: not overwritten
        await conn.executemany(
            """INSERT INTO zones (id, station, name_zh, name_en, boundary, center_lat, center_lon)
               VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
               ON CONFLICT (id) DO UPDATE SET station = EXCLUDED.station, name_zh = EXCLUDED.name_zh,
                   name_en = EXCLUDED.name_en, boundary = EXCLUDED.boundary, center_lat = EXCLUDED.center_lat,
                   center_lon = EXCLUDED.center_lon, updated_at = now()
               WHERE (zones.station, zones.name_zh, zones.name_en, zones.boundary, zones.center_lat, zones.center_lon)
                     IS DISTINCT FROM (EXCLUDED.station, EXCLUDED.name_zh, EXCLUDED.name_en, EXCLUDED.boundary,
                                       EXCLUDED.center_lat, EXCLUDED.center_lon)""",
            zones,
        )
        # the ingest may have created a unit row first (kind 'unknown'): fill in its roster columns
        await conn.executemany(
            """INSERT INTO units (id, station, kind, zone) VALUES ($1, $2, $3, $4)
               ON CONFLICT (id) DO UPDATE SET station = EXCLUDED.station, kind = EXCLUDED.kind,
                   zone = EXCLUDED.zone, version = nextval('units_version_seq')
               WHERE (units.station, units.kind, units.zone) IS DISTINCT FROM
                     (EXCLUDED.station, EXCLUDED.kind, EXCLUDED.zone)""",
            [(u.id, u.station, u.kind, u.zone) for u in units],
        )
