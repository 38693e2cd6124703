"""Data access for the live force map: every SQL statement the live and wall pages run.

Each function takes an asyncpg connection first (callbacks call them through
`ctx().db.run(fn, ...)`). Unit rows go to the browser as compact JSON arrays built by
PostgreSQL itself (`json_agg`), so the dashboard process never parses or re-encodes the
thousands of rows of a busy tick.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import asyncpg

from qingzhi.core.grids import grids_geojson
from qingzhi.core.lifecycle import TERMINAL

# Each unit row sent to the browser: only what the marker needs (assets/js/20_live_units.js);
# the details card asks for the rest when a unit is clicked.
UNIT_FIELDS = ("id", "kind", "lat", "lon", "heading", "speed", "acc", "status", "sos", "cam", "fix_ms")
_UNIT_ROW = """json_build_array(id, kind, lat, lon, heading, speed, acc, status, sos, cam_state,
    (extract(epoch FROM fix_ts) * 1000)::bigint)"""
OPEN_INCIDENT = f"state NOT IN ({', '.join(repr(s) for s in TERMINAL)})"  # the lifecycle's finished states
ALERT_FEED_LIMIT = 50
ACKED_VISIBLE = "15 minutes"  # acknowledged alerts stay in the feed (greyed) this long


async def units_since(conn: asyncpg.Connection, since: int, stations: list[str] | None = None) -> dict[str, Any]:
    """Units changed after version `since` (all of them when `since` is 0 or from another database).

    Returns {"v": newest version sent, "full": whether this is a complete snapshot,
    "now": server time in epoch ms, "rows": JSON text of a list of UNIT_FIELDS arrays}.
    A client holding a version newer than the sequence (the database was reset) gets a
    full snapshot, and must then drop every unit not in it.
    """
    row = await conn.fetchrow(
        "SELECT last_value, (extract(epoch FROM now()) * 1000)::bigint AS now FROM units_version_seq"
    )
    full = since <= 0 or since > row["last_value"]
    floor = 0 if full else since
    got = await conn.fetchrow(
        f"""SELECT coalesce(max(version), $1) AS v, coalesce(json_agg({_UNIT_ROW}), '[]')::text AS rows
            FROM units WHERE version > $1 AND ($2::text[] IS NULL OR station = ANY($2::text[]))""",
        floor, stations,
    )
    return {"v": int(got["v"]), "full": full, "now": int(row["now"]), "rows": got["rows"]}


async def stations(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every station: id, names, building position (for the filter and the map)."""
    rows = await conn.fetch("SELECT id, name_zh, name_en, lat, lon FROM stations ORDER BY id")
    return [dict(r) for r in rows]


def _feature(geometry: Any, props: dict[str, Any]) -> dict[str, Any]:
    geom = json.loads(geometry) if isinstance(geometry, str) else geometry
    return {"type": "Feature", "geometry": geom, "properties": props}


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


async def overlays_token(conn: asyncpg.Connection, stations: list[str] | None = None) -> str:
    """A cheap token that changes whenever the jurisdictions, zones or open incidents change."""
    row = await conn.fetchrow(
        f"""SELECT (SELECT count(*) FROM stations) AS s,
                   (SELECT max(updated_at) FROM zones WHERE $1::text[] IS NULL OR station = ANY($1::text[])) AS z,
                   (SELECT count(*) FROM zones WHERE $1::text[] IS NULL OR station = ANY($1::text[])) AS zn,
                   (SELECT max(updated_at) FROM incidents WHERE {OPEN_INCIDENT} OR updated_at > now() - interval '1 day') AS i,
                   (SELECT count(*) FROM incidents WHERE {OPEN_INCIDENT} AND ($1::text[] IS NULL OR station = ANY($1::text[]))) AS n,
                   (SELECT (count(*), max(loaded_at))::text FROM grids) AS g""",
        stations,
    )
    return _token(row[k] for k in ("s", "z", "zn", "i", "n", "g"))


async def areas(conn: asyncpg.Connection, stations: list[str] | None = None) -> dict[str, Any]:
    """Jurisdictions, patrol zones and community grids (with their officers) as GeoJSON."""
    st = await conn.fetch(
        "SELECT id, name_zh, name_en, lat, lon, boundary FROM stations WHERE boundary IS NOT NULL"
        " AND ($1::text[] IS NULL OR id = ANY($1::text[])) ORDER BY id",
        stations,
    )
    zn = await conn.fetch(
        "SELECT id, station, name_zh, name_en, boundary, alert_level FROM zones"
        " WHERE $1::text[] IS NULL OR station = ANY($1::text[]) ORDER BY id",
        stations,
    )
    return {
        "jurisdictions": _collection([
            _feature(r["boundary"], {"id": r["id"], "name_zh": r["name_zh"], "name_en": r["name_en"]}) for r in st
        ]),
        "zones": _collection([
            _feature(r["boundary"], {"id": r["id"], "station": r["station"], "name_zh": r["name_zh"],
                                     "name_en": r["name_en"], "alert_level": r["alert_level"]})
            for r in zn
        ]),
        "grids": await grids_geojson(conn, stations),
    }


async def overlays(conn: asyncpg.Connection, stations: list[str] | None = None, limit: int = 2000) -> dict[str, Any]:
    """Jurisdictions, patrol zones and open incidents as GeoJSON, plus open incidents by priority."""
    inc = await conn.fetch(
        f"""SELECT id, ts, lat, lon, type, priority, address, state, station FROM incidents
            WHERE {OPEN_INCIDENT} AND ($1::text[] IS NULL OR station = ANY($1::text[]))
            ORDER BY priority, ts DESC LIMIT $2""",
        stations, limit,
    )
    by_priority = await conn.fetch(
        f"""SELECT priority, count(*) AS n FROM incidents
            WHERE {OPEN_INCIDENT} AND ($1::text[] IS NULL OR station = ANY($1::text[])) GROUP BY priority""",
        stations,
    )
    return {
        **await areas(conn, stations),
        "incidents": _collection([
            _feature({"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                     {"id": r["id"], "type": r["type"], "priority": r["priority"], "address": r["address"],
                      "state": r["state"], "ts": _ms(r["ts"])})
            for r in inc
        ]),
        "incidents_by_priority": {str(r["priority"]): r["n"] for r in by_priority},
    }


def _token(parts: Any) -> str:
    """A short URL-safe digest of some values (clients send it back as a query parameter)."""
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).hexdigest()


def _ms(ts: datetime | None) -> int | None:
    return None if ts is None else int(ts.timestamp() * 1000)


async def alerts_token(conn: asyncpg.Connection, stations: list[str] | None = None) -> str:
    """A cheap token that changes whenever an alert is raised or acknowledged."""
    row = await conn.fetchrow(
        "SELECT max(id) AS i, max(acked_at) AS a, count(*) FILTER (WHERE acked_at IS NULL) AS n"
        " FROM alerts WHERE $1::text[] IS NULL OR station = ANY($1::text[])",
        stations,
    )
    return _token((row["i"], row["a"], row["n"]))


async def alert_feed(conn: asyncpg.Connection, stations: list[str] | None = None,
                     limit: int = ALERT_FEED_LIMIT) -> dict[str, Any]:
    """Open alerts (SOS first, then by severity, newest first) and recently acknowledged ones.

    Returns {"items": [alert dicts], "open": number of open alerts in all}.
    """
    rows = await conn.fetch(
        f"""SELECT a.id, a.ts, a.kind, a.severity, a.subject, a.unit, a.station, s.name_zh AS station_zh,
                   s.name_en AS station_en, a.zone, a.incident, a.detail, a.acked_by, a.acked_at
            FROM alerts a LEFT JOIN stations s ON s.id = a.station
            WHERE ($1::text[] IS NULL OR a.station = ANY($1::text[]))
              AND (a.acked_at IS NULL OR a.acked_at > now() - interval '{ACKED_VISIBLE}')
            ORDER BY a.acked_at IS NULL DESC, (a.kind = 'sos' AND a.acked_at IS NULL) DESC, a.severity, a.ts DESC
            LIMIT $2""",
        stations, limit,
    )
    open_n = await conn.fetchval(
        "SELECT count(*) FROM alerts WHERE acked_at IS NULL AND ($1::text[] IS NULL OR station = ANY($1::text[]))", stations
    )
    items = []
    for r in rows:
        item = dict(r)
        item["detail"] = json.loads(r["detail"]) if isinstance(r["detail"], str) else (r["detail"] or {})
        items.append(item)
    return {"items": items, "open": open_n}


async def unit_details(conn: asyncpg.Connection, unit_id: str) -> dict[str, Any] | None:
    """One unit's live row with its station's names and the server's now; None if unknown."""
    row = await conn.fetchrow(
        """SELECT u.id, u.station, s.name_zh AS station_zh, s.name_en AS station_en, u.kind, u.zone,
                  u.status, u.status_ts, u.sos, u.incident, u.cam_state, u.cam_ts, u.cam_batt, u.stream_url,
                  u.fix_ts, u.lat, u.lon, u.speed, u.heading, u.acc, u.batt, now() AS now
           FROM units u LEFT JOIN stations s ON s.id = u.station WHERE u.id = $1""",
        unit_id,
    )
    return None if row is None else dict(row)


async def trail(conn: asyncpg.Connection, unit_id: str, minutes: int = 30) -> list[list[float]]:
    """The unit's fixes of the last `minutes`, oldest first, as [lat, lon] pairs."""
    rows = await conn.fetch(
        "SELECT lat, lon FROM positions WHERE unit = $1 AND ts > now() - make_interval(mins => $2)"
        " ORDER BY ts",
        unit_id, minutes,
    )
    return [[r["lat"], r["lon"]] for r in rows]
