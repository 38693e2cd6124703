"""The closed loop on real services: a call comes in, the centre dispatches a unit (the dispatch data
layer publishes the command), the simulated terminal acknowledges and drives there, and the ingest
records the ack and moves the incident to en_route and on_scene."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from pathlib import Path

import asyncpg
import paho.mqtt.client as mqtt
from conftest import MQTT_URL
from paho.mqtt.enums import CallbackAPIVersion

from bench.services import IngestProcess
from dashboard.commands import Publisher
from qingzhi.core import dispatch
from qingzhi.core.actor import Actor
from qingzhi.config import load_settings, parse_mqtt_url
from qingzhi.simulator.live import Simulation
from qingzhi.simulator.run import prepare, store


def test_dispatch_round_trip(database_url: str, topic_root: str, tmp_path: Path) -> None:
    settings = load_settings(database_url=database_url, mqtt_url=MQTT_URL, topic_root=topic_root,
                             client_id=f"qz-loop-{uuid.uuid4().hex[:6]}")
    district, specs = prepare(settings, units=12, stations=1, seed=3, roads=None)
    store(settings, district, specs)
    ingest = IngestProcess(tmp_path / "ingest.log", **settings.model_dump(
        include={"database_url", "mqtt_url", "topic_root", "client_id"})).start()
    sim = Simulation(settings, district, specs, rate=0.5, speedup=30.0, incidents_per_hour=0.0, seed=3)
    stop = threading.Event()
    thread = threading.Thread(target=sim.run, args=(stop,), daemon=True)
    publisher = Publisher(settings)
    try:
        ingest.wait_connected()
        thread.start()
        assert sim.pub.subscribed.wait(10)
        unit = next(u for u in sim.fleet.units.values() if u.spec.kind == "car")
        lat, lon = district.proj.to_latlon(unit.x + 800, unit.y + 600)
        call = {"id": f"J-{uuid.uuid4().hex[:8]}", "ts": int(time.time() * 1000), "lat": float(lat),
                "lon": float(lon), "type": "dispute.fight", "priority": 2, "address": "测试路1号", "caller": "13800000000"}
        target = parse_mqtt_url(MQTT_URL)
        caller = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"qz-110-{uuid.uuid4().hex[:6]}")
        caller.connect(target.host, target.port)
        caller.loop_start()
        caller.publish(f"{topic_root}/incidents", json.dumps(call), qos=1).wait_for_publish(5)
        caller.disconnect()
        caller.loop_stop()
        publisher.ensure_connected()

        async def loop() -> dict:
            conn = await asyncpg.connect(database_url)
            try:
                deadline = time.monotonic() + 20
                while not await conn.fetchval("SELECT 1 FROM incidents WHERE id = $1", call["id"]):
                    assert time.monotonic() < deadline, "the call never reached the incidents table"
                    await asyncio.sleep(0.2)
                cmd = await dispatch.assign(Actor("tester", screen="test", role="admin"), conn, call["id"], unit.spec.id,
                                            topic_root=topic_root, publish=publisher.apublish)
                assert cmd.published
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline:
                    row = await conn.fetchrow(
                        """SELECT i.state, i.en_route_at, i.on_scene_at, c.ack_ts, c.ts AS cmd_ts
                           FROM incidents i JOIN commands c ON c.incident = i.id WHERE i.id = $1""", call["id"])
                    if row["on_scene_at"] is not None and row["ack_ts"] is not None:
                        return dict(row)
                    await asyncio.sleep(0.3)
                raise AssertionError(f"incomplete loop: {dict(row)}\n{ingest.log()[-2000:]}")
            finally:
                await conn.close()

        row = asyncio.run(loop())
        assert (row["ack_ts"] - row["cmd_ts"]).total_seconds() < 1.5  # acknowledged within about a second
        assert row["cmd_ts"] <= row["en_route_at"] < row["on_scene_at"] and row["state"] == "on_scene"
        assert unit.status in ("on_scene", "busy", "available", "patrolling")
    finally:
        stop.set()
        thread.join(15)
        publisher.close()
        ingest.kill()
