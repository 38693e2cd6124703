"""Helpers for the dispatch tests: seed rows as the ingest would write them, and listen on the broker."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import queue
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from qingzhi.config import parse_mqtt_url
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
