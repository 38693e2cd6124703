"""Helpers for the graded-duty tests: square patrol zones on a line, units placed in them."""

from __future__ import annotations

import json
from typing import Any

from dispatch_fixtures import CENTER, seed_station, seed_unit

STEP = 0.01   # degrees between zone centres (~1 km)


def zone_center(k: int) -> tuple[float, float]:
    """The centre of zone k (zones lie west to east)."""
    return CENTER[0], CENTER[1] + k * STEP


async def seed_zone(conn: Any, zid: str, k: int, *, station: str = "S1", zone_class: str = "residential",
                    min_units: int = 1) -> None:
    """A square zone of ~0.9 km around zone_center(k)."""
    lat, lon = zone_center(k)
    h = STEP * 0.45
    ring = [[lon - h, lat - h], [lon + h, lat - h], [lon + h, lat + h], [lon - h, lat + h], [lon - h, lat - h]]
    await conn.execute(
        """INSERT INTO zones (id, station, name_zh, name_en, boundary, center_lat, center_lon, min_units, zone_class)
           VALUES ($1, $2, $1, $1, $3::jsonb, $4, $5, $6, $7)""",
        zid, station, json.dumps({"type": "Polygon", "coordinates": [ring]}), lat, lon, min_units, zone_class)


async def seed_units_in(conn: Any, k: int, ids: list[str], *, station: str = "S1", status: str = "patrolling",
                        kind: str = "car") -> None:
    """Units just inside zone k (slightly apart)."""
    lat, lon = zone_center(k)
    for n, uid in enumerate(ids):
        await seed_unit(conn, uid, lat + 0.0005 * n, lon + 0.0003, station=station, status=status, kind=kind)


async def two_stations(conn: Any) -> None:
    """S1 with zones Z0–Z2 and S2 with zone Z3; S1's Z0 holds 4 cars, Z1 one, Z2 none; S2's Z3 two."""
    await seed_station(conn, "S1")
    await seed_station(conn, "S2")
    for k in range(3):
        await seed_zone(conn, f"Z{k}", k)
    await seed_zone(conn, "Z3", 3, station="S2")
    await seed_units_in(conn, 0, ["A1", "A2", "A3", "A4"])
    await seed_units_in(conn, 1, ["B1"])
    await seed_units_in(conn, 3, ["C1", "C2"], station="S2")
