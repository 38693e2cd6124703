"""Dispatch: recommending units among 10,000, and the assign → ack round trip.

    python -m bench.dispatch [--units 10000] [--k 5] [--repeat 200] [--trips 30]

In one run, on a fresh database on QZ_BENCH_PG_URL (default: the machine's PostgreSQL) and a
Mosquitto started here with deploy/mosquitto.conf:
  1. top-K: `recommend` over the in-memory fleet (numpy, argpartition); the same with the
     cache refresh the page does first (one query for units changed since last time), idle
     and with 500 units moved between calls; against two baselines measured in the same run:
     SQL ORDER BY haversine distance over all units, and a Python loop over the unit rows.
     Every method must return the same units. Also top-K by road distance over a generated
     street grid (one Dijkstra per new incident location).
  2. round trip: `commands.assign` (command stored, published, PUBACK) → the command reaches a
     simulated device, which acks over MQTT → `qingzhi ingest` stores the ack → the dispatch
     queue (what the page shows) says acknowledged. Ingest runs with its default batching.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from shapely.geometry import box

from bench.services import IngestProcess, Mosquitto, admin_sql, db_url
from dashboard import commands
from dashboard.context import AppContext
from dashboard.dispatch import queries as dispatch
from qingzhi.core.actor import Actor
from qingzhi.core.dispatch_config import DispatchConfig
from qingzhi.core.incident_actions import create_incident
from dashboard.db import Database
from dashboard.recommend import KINDS, FleetCache, recommend
from qingzhi.core.geo import Projection
from qingzhi.core.roads import RoadTimes
from qingzhi.simulator.streets import generate_grid
from qingzhi.config import load_settings
from qingzhi.db import migrate_url

CENTER = (30.2741, 120.1551)
CFG = DispatchConfig()
STATUSES = ["available"] * 4 + ["patrolling"] * 4 + ["en_route", "on_scene", "busy", "off_duty", "offline"]

SQL_BASELINE = """
SELECT id, 2 * 6371008.8 * asin(sqrt(sin(radians(lat - $1) / 2) ^ 2
         + cos(radians($1)) * cos(radians(lat)) * sin(radians(lon - $2) / 2) ^ 2))
       / (CASE kind WHEN 'car' THEN $4::float8 WHEN 'ebike' THEN $5::float8 WHEN 'foot' THEN $6::float8 ELSE $7::float8 END / 3.6) AS eta
FROM units
WHERE status IN ('available', 'patrolling') AND fix_ts >= now() - make_interval(secs => $8::float8) AND lat IS NOT NULL
ORDER BY eta LIMIT $3"""

BENCH = Actor.person("bench", "bench", role="commander")


def pct(values: list[float]) -> tuple[float, float]:
    """p50 and p95 in ms of values in seconds."""
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000


def line(name: str, values: list[float], base: float | None = None) -> float:
    """Print p50/p95 (and the speed-up against a baseline p50); return p50 ms."""
    p50, p95 = pct(values)
    ratio = f"   {base / p50:7.1f}× faster than the SQL baseline" if base else ""
    print(f"  {name:<46} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms{ratio}", flush=True)
    return p50



async def seed(url: str, n: int, rng: np.random.Generator) -> None:
    """n units with positions, statuses and kinds over a 20 × 20 km city; one station."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("INSERT INTO stations (id, name_zh, name_en, lat, lon) VALUES ('S1', 'S1', 'S1', $1, $2)", *CENTER)
        now = time.time()
        rows = [
            (f"U{i:05d}", "S1", str(rng.choice(KINDS[:3])), float(CENTER[0] + rng.uniform(-0.09, 0.09)),
             float(CENTER[1] + rng.uniform(-0.1, 0.1)), str(rng.choice(STATUSES)),
             now - float(rng.choice([3, 5, 10, 20, 90, 900])), str(rng.choice(["standby", "recording", "off"])))
            for i in range(n)
        ]
        await conn.executemany(
            """INSERT INTO units (id, station, kind, lat, lon, status, fix_ts, status_ts, cam_state)
               VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7), to_timestamp($7), $8)""",
            rows,
        )
    finally:
        await conn.close()


def python_loop(rows: list[dict], lat: float, lon: float, k: int, now: float, stale: float) -> list[str]:
    """The obvious pure-Python way: a haversine per available unit, then sort."""
    out = []
    for r in rows:
        if r["status"] not in ("available", "patrolling") or now - r["fix"] > stale:
            continue
        p1, p2 = math.radians(lat), math.radians(r["lat"])
        a = (math.sin((p2 - p1) / 2) ** 2
             + math.cos(p1) * math.cos(p2) * math.sin(math.radians(r["lon"] - lon) / 2) ** 2)
        out.append((2 * 6_371_008.8 * math.asin(math.sqrt(a)) / CFG.speed_ms(r["kind"]), r["id"]))
    out.sort()
    return [uid for _, uid in out[:k]]


def bench_topk(db: Database, url: str, n: int, k: int, repeat: int, rng: np.random.Generator) -> None:
    """Part 1."""
    stale = 60.0
    cache = FleetCache()
    started = time.perf_counter()
    fleet = cache.get(db)
    print(f"  first load of {len(fleet.ids)} units into the cache: {(time.perf_counter() - started) * 1000:.1f} ms")
    points = [(CENTER[0] + rng.uniform(-0.08, 0.08), CENTER[1] + rng.uniform(-0.09, 0.09)) for _ in range(repeat)]
    sp = CFG.speed_kmh

    async def sql_topk(conn: asyncpg.Connection, lat: float, lon: float) -> list[str]:
        rows = await conn.fetch(SQL_BASELINE, lat, lon, k, sp["car"], sp["ebike"], sp["foot"], sp["unknown"], stale)
        return [r["id"] for r in rows]

    async def load_rows(conn: asyncpg.Connection) -> list[dict]:
        rows = await conn.fetch("SELECT id, kind, status, lat, lon, extract(epoch FROM fix_ts)::float8 AS fix FROM units")
        return [dict(r) for r in rows]

    rows = db.run(load_rows)
    t_sql, t_py, t_np, t_idle, t_moved = [], [], [], [], []
    for lat, lon in points:
        now = time.time()
        t0 = time.perf_counter()
        by_sql = db.run(sql_topk, lat, lon)
        t1 = time.perf_counter()
        by_py = python_loop(rows, lat, lon, k, now, stale)
        t2 = time.perf_counter()
        by_np = [c["id"] for c in recommend(fleet, lat, lon, cfg=CFG, now=now, stale_after_s=stale, k=k)]
        t3 = time.perf_counter()
        fleet = cache.get(db)
        recommend(fleet, lat, lon, cfg=CFG, now=now, stale_after_s=stale, k=k)
        t4 = time.perf_counter()
        t_sql.append(t1 - t0), t_py.append(t2 - t1), t_np.append(t3 - t2), t_idle.append(t4 - t3)
        if not by_sql == by_py == by_np:
            raise AssertionError(f"methods disagree at {lat:.5f},{lon:.5f}: sql {by_sql} python {by_py} numpy {by_np}")

    async def move(conn: asyncpg.Connection, count: int) -> None:
        await conn.execute(
            """UPDATE units SET lat = lat + 0.0001, fix_ts = now(), version = nextval('units_version_seq')
               WHERE id IN (SELECT id FROM units ORDER BY random() LIMIT $1)""", count)

    for lat, lon in points[: max(20, repeat // 4)]:
        db.run(move, 500)
        t0 = time.perf_counter()
        fleet = cache.get(db)
        recommend(fleet, lat, lon, cfg=CFG, now=time.time(), stale_after_s=stale, k=k)
        t_moved.append(time.perf_counter() - t0)
    t_road = []
    roads = grid_roads(rng)
    for lat, lon in points:
        t0 = time.perf_counter()
        recommend(fleet, lat, lon, cfg=CFG, now=time.time(), stale_after_s=stale, k=k, roads=roads)
        t_road.append(time.perf_counter() - t0)
    print(f"  top-{k} among {n} units, {repeat} incident locations (all methods return the same units):")
    base = line("baseline: SQL ORDER BY haversine LIMIT k", t_sql)
    line("baseline: Python loop over unit rows", t_py, base)
    line("numpy top-K (fleet in memory)", t_np, base)
    line("page path: cache refresh (idle) + top-K", t_idle, base)
    p50 = line("page path: cache refresh (500 moved) + top-K", t_moved, base)
    line(f"top-K by road ({len(roads.net.xy)}-node grid, new incident)", t_road, base)
    print(f"  target < 20 ms for the page path: {'met' if p50 < 20 else 'NOT met'}", flush=True)


def grid_roads(rng: np.random.Generator) -> RoadTimes:
    """A 20 × 22 km street grid (300 m blocks) over the benchmark city, as the simulator generates."""
    proj = Projection(*CENTER)
    return RoadTimes(generate_grid(rng, box(-10_500, -10_500, 10_500, 10_500), spacing=300.0), proj)


def acking_device(url: str, root: str) -> tuple[mqtt.Client, dict[str, float]]:
    """A subscriber to every unit's cmd topic that acks at once, as a terminal would; notes arrival times."""
    host, port = url.removeprefix("mqtt://").split(":")
    arrived: dict[str, float] = {}
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"qz-bench-dev-{uuid.uuid4().hex[:6]}")

    def on_message(c: mqtt.Client, _u: Any, m: mqtt.MQTTMessage) -> None:
        cmd = json.loads(m.payload)
        arrived[cmd["id"]] = time.perf_counter()
        station, unit = m.topic.split("/")[-3:-1]
        c.publish(f"{root}/{station}/{unit}/ack", json.dumps({"id": cmd["id"], "ts": int(time.time() * 1000)}), qos=1)

    subscribed = threading.Event()
    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    client.connect(host, int(port))
    client.loop_start()
    client.subscribe(f"{root}/+/+/cmd", qos=1)
    subscribed.wait(10)
    return client, arrived


def bench_round_trip(url: str, broker: Mosquitto, trips: int, workdir: Path) -> None:
    """Part 2."""
    root = f"qzbench/{uuid.uuid4().hex[:8]}/v1"
    settings = load_settings(database_url=url, mqtt_url=broker.url, topic_root=root, client_id="qz-bench-dash")
    ingest = IngestProcess(workdir / "ingest.log", database_url=url, mqtt_url=broker.url, topic_root=root,
                           client_id=f"qz-bench-ing-{uuid.uuid4().hex[:6]}").start()
    app = AppContext(settings=settings, db=Database(url))
    dev, arrived = acking_device(broker.url, root)
    try:
        ingest.wait_connected()
        cands = recommend(FleetCache().get(app.db), *CENTER, cfg=CFG, now=time.time(), stale_after_s=60, k=trips)
        t_assign, t_broker, t_shown = [], [], []
        for i, cand in enumerate(cands):
            incident = app.db.act(create_incident, BENCH, lat=cand["lat"], lon=cand["lon"] + 0.003, type="bench.trip",
                                  priority=2, tz=settings.timezone)
            t0 = time.perf_counter()
            cmd = commands.assign(app, BENCH, incident, cand["id"])
            t1 = time.perf_counter()
            while True:
                rows = app.db.run(dispatch.queue, CFG, now=dt.datetime.now(dt.UTC))
                if any(r["id"] == incident and r["ack"] == ["acked"] for r in rows):
                    break
                if time.perf_counter() - t0 > 30:
                    raise TimeoutError(f"no ack shown for {incident} within 30 s")
                time.sleep(0.005)
            t2 = time.perf_counter()
            t_assign.append(t1 - t0), t_broker.append(arrived[cmd.id] - t0), t_shown.append(t2 - t0)
        print(f"  {len(cands)} dispatches (ingest default batching, queue polled every 5 ms):")
        line("assign (DB + publish + PUBACK)", t_assign)
        line("click → command at the device", t_broker)
        line("click → ack visible in the queue data", t_shown)
    finally:
        dev.disconnect(), dev.loop_stop()
        if app.publisher:
            app.publisher.close()
        app.db.close()
        ingest.stop()


def main() -> None:
    """Run both parts and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.dispatch")
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--trips", type=int, default=30)
    args, _ = parser.parse_known_args()
    rng = np.random.default_rng(4)
    name = f"qz_bench_dispatch_{os.getpid()}"
    url = db_url(name)
    admin_sql(f"DROP DATABASE IF EXISTS {name}")
    admin_sql(f"CREATE DATABASE {name}")
    with tempfile.TemporaryDirectory(prefix="qz-bench-dispatch-") as tmp:
        broker = Mosquitto(Path(tmp) / "mosquitto").start()
        db = None
        try:
            asyncio.run(migrate_url(url))
            asyncio.run(seed(url, args.units, rng))
            db = Database(url)
            print("1. recommendation", flush=True)
            bench_topk(db, url, args.units, args.k, args.repeat, rng)
            print("2. dispatch round trip", flush=True)
            bench_round_trip(url, broker, args.trips, Path(tmp))
        finally:
            if db:
                db.close()
            broker.stop()
            admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
