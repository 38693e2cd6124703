"""Helpers for the dispatch tests: seed rows as the ingest would write them, and listen on the broker."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import queue
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from qingzhi.config import Settings, parse_mqtt_url
from qingzhi.db import connect

T = TypeVar("T")
NOW = dt.datetime.now(dt.UTC)
CENTER = (30.2741, 120.1551)


def run_db(url: str, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Call `await fn(conn, ...)` on a fresh connection to `url`."""

    async def go() -> T:
        conn = await connect(url)
        try:
            return await fn(conn, *args, **kwargs)
        finally:
            await conn.close()

    return asyncio.run(go())


async def seed_station(conn: Any, sid: str = "S1", lat: float = CENTER[0], lon: float = CENTER[1]) -> None:
    """One police station."""
    await conn.execute(
        "INSERT INTO stations (id, name_zh, name_en, lat, lon) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        sid, f"{sid}派出所", f"{sid} station", lat, lon,
    )


async def seed_unit(
    conn: Any, uid: str, lat: float, lon: float, *, kind: str = "car", status: str = "available",
    station: str = "S1", fix_age_s: float = 5, cam: str | None = "standby",
) -> None:
    """A unit's live row as the ingest keeps it."""
    fix = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=fix_age_s)
    await conn.execute(
        """INSERT INTO units (id, station, kind, fix_ts, lat, lon, status, status_ts, cam_state, cam_ts, last_recv)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $4, $8, $4, $4)""",
        uid, station, kind, fix, lat, lon, status, cam,
    )


async def seed_incident(
    conn: Any, iid: str, *, lat: float = CENTER[0], lon: float = CENTER[1], ts: dt.datetime | None = None,
    type: str = "dispute.family", priority: int = 2, station: str | None = "S1", caller_hash: str | None = None,
    **stamps: Any,
) -> None:
    """An incident as the ingest inserts it (plus any lifecycle stamps/state given)."""
    cols = {"id": iid, "ts": ts or dt.datetime.now(dt.UTC), "lat": lat, "lon": lon, "type": type,
            "category": type.split(".")[0], "priority": priority, "station": station, "caller_hash": caller_hash,
            "address": "文三路 90 号", **stamps}
    names = ", ".join(cols)
    marks = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
    await conn.execute(f"INSERT INTO incidents ({names}) VALUES ({marks})", *cols.values())


async def write_ack(conn: Any, command: str, unit: str, station: str = "S1") -> None:
    """An ack as the ingest stores it: an acks row and the command's ack times."""
    now = dt.datetime.now(dt.UTC)
    await conn.execute("INSERT INTO acks (command, unit, ts, recv_ts, station) VALUES ($1, $2, $3, $3, $4)",
                       command, unit, now, station)
    await conn.execute("UPDATE commands SET ack_ts = $2, ack_recv_ts = $2 WHERE id = $1 AND ack_ts IS NULL",
                       uuid.UUID(command), now)


@contextmanager
def dashboard_app(settings: Settings) -> Iterator[Any]:
    """The whole Dash app on this test's database (for posting to its callbacks), closed afterwards."""
    from dashboard.app import create_app

    app = create_app(settings)
    try:
        yield app
    finally:
        ctx = app.server.extensions["qingzhi"]
        if ctx.publisher:
            ctx.publisher.close()
        ctx.db.close()


@contextmanager
def app_context(settings: Settings) -> Iterator[Any]:
    """The dashboard's context (database pool, MQTT publisher on first command) on this test's database."""
    from dashboard.context import AppContext
    from dashboard.db import Database

    ctx = AppContext(settings=settings, db=Database(settings.database_url))
    try:
        yield ctx
    finally:
        if ctx.publisher:
            ctx.publisher.close()
        ctx.db.close()


class Listener:
    """A subscriber on the real broker that collects (topic, payload) of every message on `pattern`."""

    def __init__(self, mqtt_url: str, pattern: str) -> None:
        target = parse_mqtt_url(mqtt_url)
        self.messages: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"qz-listen-{uuid.uuid4().hex[:8]}")
        subscribed = queue.Queue()
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, json.loads(m.payload)))
        self.client.on_subscribe = lambda *a: subscribed.put(True)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(pattern, qos=1)
        self.client.connect(target.host, target.port)
        self.client.loop_start()
        subscribed.get(timeout=10)

    def next(self, timeout: float = 10.0) -> tuple[str, dict[str, Any]]:
        """The next message (raises queue.Empty if none arrives in time)."""
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


async def seed_city(conn: Any, *, units: int = 80, seed: int = 7) -> None:
    """A small district for page tests and screenshots: two stations, units of every kind and
    status around the centre, and a handful of open incidents of different ages and priorities."""
    import random

    rnd = random.Random(seed)
    await seed_station(conn, "XH", CENTER[0] + 0.01, CENTER[1] - 0.02)
    await seed_station(conn, "GS", CENTER[0] + 0.04, CENTER[1] + 0.01)
    statuses = ["available"] * 5 + ["patrolling"] * 4 + ["busy", "en_route", "off_duty"]
    for i in range(units):
        kind = rnd.choice(["car", "car", "ebike", "ebike", "foot"])
        station = rnd.choice(["XH", "GS"])
        await seed_unit(conn, f"{station}-{kind[0].upper()}{i:02d}", CENTER[0] + rnd.uniform(-0.04, 0.05), CENTER[1] + rnd.uniform(-0.05, 0.05),
                        kind=kind, status=rnd.choice(statuses), station=station,
                        fix_age_s=rnd.choice([3, 5, 8, 12, 400]), cam=rnd.choice(["standby", "recording", "off", None]))
    now = dt.datetime.now(dt.UTC)
    calls = [
        ("110-0001", 1, "assault", 95, "文三路 259 号 昌地火炬大厦门口", "XH"),
        ("110-0002", 2, "dispute.family", 240, "古翠路 76 号 3 单元 502", "XH"),
        ("110-0003", 3, "theft.ebike", 700, "学院路 28 号 小区车棚", "GS"),
        ("110-0004", 2, "traffic.accident", 40, "天目山路 教工路口", "XH"),
        ("110-0005", 4, "noise", 1500, "莫干山路 1418 号", "GS"),
        ("110-0006", 3, "fraud.phone", 30, "登云路 45 号", "GS"),
    ]
    for iid, prio, typ, age, addr, st in calls:
        await seed_incident(conn, iid, ts=now - dt.timedelta(seconds=age), priority=prio, type=typ, station=st,
                            lat=CENTER[0] + rnd.uniform(-0.02, 0.03), lon=CENTER[1] + rnd.uniform(-0.03, 0.03))
        await conn.execute("UPDATE incidents SET address = $2 WHERE id = $1", iid, addr)


async def seed_history(conn: Any, *, n: int = 40, seed: int = 11) -> None:
    """Closed incidents of the past week with realistic step times, each from its own number except that
    one caller calls four times, and one doorway has five incidents, so the repeat flags and the
    response-time panel have something to show."""
    import random

    rnd = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    types = ["dispute.family", "theft.ebike", "traffic.accident", "noise", "fraud.phone"]
    for i in range(n):
        ts = now - dt.timedelta(hours=rnd.uniform(2, 160))
        assigned = ts + dt.timedelta(seconds=rnd.uniform(20, 240))
        on_scene = assigned + dt.timedelta(seconds=rnd.uniform(120, 900))
        handled = on_scene + dt.timedelta(seconds=rnd.uniform(600, 3600))
        at_door = i < 5
        await seed_incident(
            conn, f"H{i:03d}", ts=ts, type=rnd.choice(types), priority=rnd.choice([1, 2, 2, 3, 3, 3, 4]),
            station=rnd.choice(["XH", "GS"]), caller_hash=("c" * 64 if i % 10 == 3 else f"{i:064x}"),
            lat=31.2880 if at_door else CENTER[0] + rnd.uniform(-0.03, 0.03),
            lon=120.1300 if at_door else CENTER[1] + rnd.uniform(-0.03, 0.03),
            state="closed", assigned_at=assigned, en_route_at=assigned + dt.timedelta(seconds=15),
            on_scene_at=on_scene, handled_at=handled, feedback_at=handled + dt.timedelta(hours=1),
            closed_at=handled + dt.timedelta(hours=2),
        )
