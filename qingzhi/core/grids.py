"""Community grids (一居一警, 网格): a station's community areas, each with its responsible
community officer (and the officer's device, and the grid worker). A repeat-call task goes to the
officer of the grid its place falls in unless the commander names another.
"""

from __future__ import annotations

import json
import re
from typing import Any

import asyncpg
from shapely.errors import ShapelyError
from shapely.geometry import Point, mapping, shape

from qingzhi.core import audit
from qingzhi.core.access import require
from qingzhi.core.actor import Actor
from qingzhi.errors import QingzhiError

MAX_GRIDS = 2000  # one station's communities; more is a wrong file, not a district
ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # NUL is more than PostgreSQL's text can hold; the rest is no name


def _text(props: dict[str, Any], key: str, n: int, *, required: bool = True) -> str | None:
    value = props.get(key)
    if value is None or not str(value).strip():
        if required:
            raise QingzhiError(f"feature {n}: property {key!r} is required")
        return None
    value = str(value).strip()
    if len(value) > 100:
        raise QingzhiError(f"feature {n}: {key!r} is longer than 100 characters")
    if _CONTROL.search(value):
        raise QingzhiError(f"feature {n}: {key!r} holds control characters")
    return value


def parse_grids(geojson: dict[str, Any]) -> list[dict[str, Any]]:
    """The grids of a GeoJSON FeatureCollection: each feature a (Multi)Polygon with properties `id`,
    `name`, `officer` and optionally `unit` and `grid_worker`. A bad feature is a clear error naming it."""
    if not isinstance(geojson, dict) or geojson.get("type") != "FeatureCollection":
        raise QingzhiError("grids must be a GeoJSON FeatureCollection")
    features = geojson.get("features")
    if not isinstance(features, list) or not features or len(features) > MAX_GRIDS:
        raise QingzhiError(f"a grid file holds 1 to {MAX_GRIDS} features")
    out, seen = [], set()
    for n, f in enumerate(features, 1):
        geom, props = (f or {}).get("geometry") or {}, (f or {}).get("properties") or {}
        if geom.get("type") not in ("Polygon", "MultiPolygon"):
            raise QingzhiError(f"feature {n}: a grid is a Polygon or MultiPolygon, not {geom.get('type')!r}")
        try:
            poly = shape(geom)
        except (ValueError, TypeError, AttributeError, IndexError, ShapelyError) as exc:
            raise QingzhiError(f"feature {n}: bad geometry ({exc})") from None
        minx, miny, maxx, maxy = poly.bounds
        if poly.is_empty or not poly.is_valid or not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise QingzhiError(f"feature {n}: the polygon is empty, self-intersecting or not in degrees")
        gid = _text(props, "id", n)
        if not set(gid) <= ID_CHARS or gid in seen:
            raise QingzhiError(f"feature {n}: grid id {gid!r} must be unique and of letters, digits, _ . -")
        seen.add(gid)
        out.append({"id": gid, "name": _text(props, "name", n), "officer": _text(props, "officer", n),
                    "unit": _text(props, "unit", n, required=False),
                    "grid_worker": _text(props, "grid_worker", n, required=False),
                    "boundary": mapping(poly)})  # only the geometry: the file's other members are not stored
    return out


async def load_grids(actor: Actor, conn: asyncpg.Connection, station: str, geojson: dict[str, Any]) -> int:
    """Replace a station's grids with those of the file (all or nothing), audited; returns how many."""
    require(actor, "grids.load", station)
    grids = parse_grids(geojson)
    async with conn.transaction():
        if not await conn.fetchval("SELECT 1 FROM stations WHERE id = $1", station):
            raise QingzhiError(f"no station {station!r}")
        taken = await conn.fetch("SELECT id, station FROM grids WHERE id = ANY($1::text[]) AND station <> $2",
                                 [g["id"] for g in grids], station)
        if taken:
            raise QingzhiError(f"grid {taken[0]['id']} belongs to station {taken[0]['station']}")
        await conn.execute("DELETE FROM grids WHERE station = $1", station)
        await conn.executemany(
            """INSERT INTO grids (id, station, name, boundary, officer, unit, grid_worker, loaded_by)
               VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8)""",
            [(g["id"], station, g["name"], json.dumps(g["boundary"]), g["officer"], g["unit"], g["grid_worker"],
              actor.label) for g in grids],
        )
        await audit.record(conn, actor, "grids.load", details={"station": station, "grids": [g["id"] for g in grids]})
    return len(grids)


async def grid_at(conn: asyncpg.Connection, lat: float | None, lon: float | None,
                  station: str | None = None) -> dict[str, Any] | None:
    """The grid a point falls in (of that station, if given), or None."""
    if lat is None or lon is None:
        return None
    rows = await conn.fetch("SELECT * FROM grids WHERE $1::text IS NULL OR station = $1 ORDER BY id", station)
    p = Point(lon, lat)
    for r in rows:
        if shape(json.loads(r["boundary"])).covers(p):
            return {**dict(r), "boundary": json.loads(r["boundary"])}
    return None


async def grids_geojson(conn: asyncpg.Connection, stations: list[str] | None = None) -> dict[str, Any]:
    """The grids (of these stations; None: all) as a FeatureCollection for the map."""
    rows = await conn.fetch("SELECT * FROM grids WHERE $1::text[] IS NULL OR station = ANY($1) ORDER BY id", stations)
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(r["boundary"]),
         "properties": {k: r[k] for k in ("id", "station", "name", "officer", "unit", "grid_worker")}} for r in rows]}
