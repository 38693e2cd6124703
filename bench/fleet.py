"""A synthetic district written straight into PostgreSQL the way the ingest leaves it.

Used by the live-map tests, screenshots and bench/live_map.py until (and besides) the
simulator: stations with square jurisdictions around a centre, patrol zones, units with a
realistic mix of kinds, statuses and camera states, open incidents, and fixes that move
units (live row with `version = nextval('units_version_seq')` plus a `positions` row).
"""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta, timezone

import asyncpg

HANGZHOU = (30.2741, 120.1551)
STATUS_MIX = (("patrolling", 45), ("available", 25), ("en_route", 8), ("on_scene", 8), ("busy", 6), ("off_duty", 8))
KIND_MIX = (("car", 40), ("ebike", 35), ("foot", 25))
CAM_MIX = (("standby", 55), ("recording", 20), ("streaming", 5), ("off", 15), ("fault", 5))
STATION_NAMES = (("西湖派出所", "Xihu Station"), ("上城派出所", "Shangcheng Station"), ("拱墅派出所", "Gongshu Station"),
                 ("滨江派出所", "Binjiang Station"), ("余杭派出所", "Yuhang Station"), ("萧山派出所", "Xiaoshan Station"))
M_PER_DEG = 111_320.0


def _pick(rng: random.Random, mix: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([m[0] for m in mix], weights=[m[1] for m in mix])[0]


def _square(lat: float, lon: float, half_km: float) -> dict:
    dlat = half_km * 1000 / M_PER_DEG
    dlon = dlat / math.cos(math.radians(lat))
    ring = [[lon - dlon, lat - dlat], [lon + dlon, lat - dlat], [lon + dlon, lat + dlat], [lon - dlon, lat + dlat],
            [lon - dlon, lat - dlat]]
    return {"type": "Polygon", "coordinates": [ring]}


def station_id(i: int) -> str:
    """Id of the i-th synthetic station."""
    return f"ST{i + 1:02d}"


async def seed_district(conn: asyncpg.Connection, *, units: int, stations: int = 4, center: tuple[float, float] = HANGZHOU,
                        seed: int = 1, half_km: float = 3.0, stale: int = 0, lost: int = 0, incidents: int = 6,
                        now: datetime | None = None) -> list[str]:
    """Create stations (2x2.. grid of squares), zones (4 per station), units and incidents.

    The first `stale` units get a fix older than a minute and the next `lost` ones older than
    ten minutes. Returns the unit ids.
    """
    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    cols = math.ceil(math.sqrt(stations))
    step_lat = 2 * half_km * 1000 / M_PER_DEG
    step_lon = step_lat / math.cos(math.radians(center[0]))
    st_rows, zone_rows = [], []
    for i in range(stations):
        r, c = divmod(i, cols)
        lat = center[0] + (r - (cols - 1) / 2) * step_lat
        lon = center[1] + (c - (cols - 1) / 2) * step_lon
        zh, en = STATION_NAMES[i % len(STATION_NAMES)]
        st_rows.append((station_id(i), zh, en, lat, lon, _square(lat, lon, half_km)))
        for z in range(4):
            zr, zc = divmod(z, 2)
            zlat = lat + (zr - 0.5) * step_lat / 2
            zlon = lon + (zc - 0.5) * step_lon / 2
            level = rng.choice((0, 0, 0, 0, 1, 2, 3, 4))
            zone_rows.append((f"{station_id(i)}-Z{z + 1}", station_id(i), f"{zh[:2]}{z + 1}号巡区", f"{en.split()[0]} beat {z + 1}",
                              _square(zlat, zlon, half_km / 2 * 0.96), zlat, zlon, level))
    await conn.executemany("INSERT INTO stations (id, name_zh, name_en, lat, lon, boundary) VALUES ($1,$2,$3,$4,$5,$6::jsonb)",
                           [(*r[:5], json.dumps(r[5])) for r in st_rows])
    await conn.executemany(
        "INSERT INTO zones (id, station, name_zh, name_en, boundary, center_lat, center_lon, alert_level)"
        " VALUES ($1,$2,$3,$4,$5::jsonb,$6,$7,$8)",
        [(*r[:4], json.dumps(r[4]), *r[5:]) for r in zone_rows],
    )
    ids, unit_rows = [], []
    for n in range(units):
        st = st_rows[n % stations]
        uid = f"{st[0]}-{n + 1:05d}"
        ids.append(uid)
        lat = st[3] + rng.uniform(-0.95, 0.95) * step_lat / 2
        lon = st[4] + rng.uniform(-0.95, 0.95) * step_lon / 2
        age = 5 if n >= stale + lost else (90 if n < stale else 900)
        status = _pick(rng, STATUS_MIX) if n >= stale + lost else "patrolling"
        kind = _pick(rng, KIND_MIX)
        speed = {"car": 9.0, "ebike": 5.0, "foot": 1.3}[kind] * rng.uniform(0, 1.2)
        unit_rows.append((uid, st[0], kind, f"{st[0]}-Z{rng.randint(1, 4)}", now - timedelta(seconds=age), lat, lon,
                          speed, rng.uniform(0, 360), rng.uniform(3, 25), status, now - timedelta(minutes=rng.uniform(1, 90)),
                          _pick(rng, CAM_MIX), f"rtsp://video.example/{uid}" if rng.random() < 0.5 else None, now))
    await conn.executemany(
        """INSERT INTO units (id, station, kind, zone, fix_ts, lat, lon, speed, heading, acc, status, status_ts,
                              cam_state, stream_url, cam_ts, last_recv)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$15)""",
        unit_rows,
    )
    await conn.executemany(
        "INSERT INTO incidents (id, ts, lat, lon, type, category, priority, address, station, source)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,'simulator')",
        [(f"110-{seed}-{k:04d}", now - timedelta(minutes=rng.uniform(1, 60)),
          st_rows[k % stations][3] + rng.uniform(-0.01, 0.01), st_rows[k % stations][4] + rng.uniform(-0.01, 0.01),
          t, t.split(".")[0], p, f"{st_rows[k % stations][1][:2]}路{rng.randint(1, 300)}号", st_rows[k % stations][0])
         for k, (t, p) in enumerate(rng.choice((("theft.ebike", 3), ("dispute.family", 2), ("traffic.accident", 1),
                                                 ("fraud.phone", 4))) for _ in range(incidents))],
    )
    return ids


async def move_units(conn: asyncpg.Connection, ids: list[str], *, rng: random.Random, now: datetime | None = None,
                     metres: float = 25.0, history: bool = True) -> None:
    """One fix for each unit, as the ingest stores it: live row moved and re-versioned, history row added."""
    now = now or datetime.now(timezone.utc)
    moves = [(uid, rng.uniform(-1, 1) * metres / M_PER_DEG, rng.uniform(-1, 1) * metres / M_PER_DEG) for uid in ids]
    rows = await conn.fetch(
        """UPDATE units u SET lat = u.lat + m.dlat, lon = u.lon + m.dlon, fix_ts = $2, last_recv = $2,
                  heading = degrees(atan2(m.dlon, m.dlat))::real + 180, version = nextval('units_version_seq')
           FROM unnest($1::text[], $3::float8[], $4::float8[]) AS m(id, dlat, dlon)
           WHERE u.id = m.id RETURNING u.id, u.station, u.lat, u.lon, u.speed, u.heading""",
        [m[0] for m in moves], now, [m[1] for m in moves], [m[2] for m in moves],
    )
    if history:
        await conn.copy_records_to_table(
            "positions", records=[(r["id"], now, now, r["station"], r["lat"], r["lon"], r["speed"], r["heading"])
                                  for r in rows],
            columns=["unit", "ts", "recv_ts", "station", "lat", "lon", "speed", "heading"],
        )
