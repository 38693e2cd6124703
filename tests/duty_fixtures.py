"""Helpers for the graded-duty tests: square patrol zones on a line, units placed in them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h3

from bench.services import dashboard_process
from dispatch_fixtures import CENTER, run_db, seed_station, seed_unit
from qingzhi.config import Settings
from qingzhi.core import levels
from qingzhi.core.actor import Actor

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


# a hotspot cell in zone Z0's south-west corner, away from the cars parked at its centre
HOT = h3.latlng_to_cell(zone_center(0)[0] - 0.003, zone_center(0)[1] - 0.003, 9)


async def seed_hotspot_district(conn: Any) -> None:
    """two_stations, S1's top hotspot HOT (incidents yesterday, today and tomorrow in UTC, so that it ranks
    whatever the local date) inside Z0, and Z0 raised to level III (residential: needs 1, has 4)."""
    await two_stations(conn)
    today = dt.datetime.now(dt.UTC).date()
    await conn.executemany(
        """INSERT INTO an_cell_day (day, cell10, station, type, priority, cell9, cell8, category, n)
           VALUES ($1, $2, 'S1', 'theft.ebike', 3, $3, 0, 'theft', 9)""",
        [(today + dt.timedelta(days=d), 1 + d, h3.str_to_int(HOT)) for d in (-1, 0, 1)])
    await levels.set_level(Actor.system("test"), conn, scope="zone", target="Z0", level="III", reason="盗窃上升")


@contextmanager
def seeded_dashboard(settings: Settings, log_dir: Path, seed: Callable[[Any], Awaitable[None]]) -> Iterator[str]:
    """`qingzhi dashboard` in its own process on the test's database, seeded first; yields its URL."""
    run_db(settings.database_url, seed)
    env = {k: v for k, v in settings.model_dump().items() if v is not None}
    with dashboard_process(log_dir / "dashboard.log", **env) as url:
        yield url
