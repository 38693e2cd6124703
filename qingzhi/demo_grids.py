"""The demo's community grids (一居一警): each patrol zone of the simulated district doubles as a
community, with a named community officer, one of the station's foot or e-bike units as the officer's
device, and a grid worker, so that a repeat-call task made on the demo goes to someone by default.
Loaded through the core like any station's file (`qingzhi grids load`)."""

from __future__ import annotations

import asyncio
import json

from qingzhi.core.actor import Actor
from qingzhi.core.grids import load_grids
from qingzhi.db import connect

SURNAMES = "王李张刘陈杨赵黄周吴徐孙"


async def _ensure(url: str) -> int:
    conn = await connect(url)
    try:
        made = 0
        for station in [r["id"] for r in await conn.fetch("SELECT id FROM stations ORDER BY id")]:
            zones = await conn.fetch("SELECT id, name_zh, boundary FROM zones WHERE station = $1 ORDER BY id", station)
            units = [r["id"] for r in await conn.fetch(
                "SELECT id FROM units WHERE station = $1 AND kind IN ('foot', 'ebike') ORDER BY kind, id", station)]
            if not zones:
                continue
            features = [{"type": "Feature", "geometry": json.loads(z["boundary"]), "properties": {
                "id": f"G-{z['id']}", "name": f"{z['name_zh']}社区", "officer": f"{SURNAMES[n % len(SURNAMES)]}警官",
                "unit": units[n % len(units)] if units else None, "grid_worker": f"网格员{n + 1:02d}"}}
                for n, z in enumerate(zones)]
            made += await load_grids(Actor.system("demo"), conn, station,
                                     {"type": "FeatureCollection", "features": features})
        return made
    finally:
        await conn.close()


def ensure(url: str) -> int:
    """Load (again) one community grid per patrol zone of every station; returns how many."""
    return asyncio.run(_ensure(url))
