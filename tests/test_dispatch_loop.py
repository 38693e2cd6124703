"""The closed loop over the real broker with the real ingest process: a 110 call published on
MQTT reaches the queue, a command goes out, a device (our own client, then the simulator)
acknowledges it and reports en route / on scene, and the dispatch data shows each step."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from bench.services import IngestProcess
from dashboard import commands
from dashboard.context import AppContext
from dashboard.dispatch import queries as dispatch
from qingzhi.core.actor import Actor
from qingzhi.core.dispatch_config import DispatchConfig
from qingzhi.core.incident_actions import create_incident
from dashboard.recommend import FleetCache, recommend
from dispatch_fixtures import CENTER, app_context, run_db, seed_station, seed_unit
from sim_helpers import simulator_process
from ingest_helpers import wait_until
from qingzhi.config import Settings, parse_mqtt_url

DESK = Actor.person("值班长 张", "dispatch", role="commander")

pytestmark = pytest.mark.slow
CFG = DispatchConfig()


@pytest.fixture
def district(settings: Settings) -> None:
    """A station and one unit, there before the ingest starts (it reads the stations at start)."""
    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        await seed_unit(conn, "C01", CENTER[0] + 0.003, CENTER[1])

    run_db(settings.database_url, seed)


@pytest.fixture
def ingest(settings: Settings, district: None, tmp_path: Path) -> Iterator[IngestProcess]:
    """`qingzhi ingest` on this test's database and topic root."""
    proc = IngestProcess(tmp_path / "ingest.log", database_url=settings.database_url, mqtt_url=settings.mqtt_url,
                         topic_root=settings.topic_root, client_id=f"qz-disp-ing-{uuid.uuid4().hex[:6]}",
                         batch_ms=50).start()
    try:
        proc.wait_connected()
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def app(settings: Settings) -> Iterator[AppContext]:
    """The dashboard's context (database pool, publisher) on this test's database."""
    with app_context(settings) as ctx:
        yield ctx


def device(settings: Settings, station: str, unit: str) -> tuple[mqtt.Client, list[dict]]:
    """A field terminal: acknowledges every command it gets; returns the client and the commands seen."""
    target = parse_mqtt_url(settings.mqtt_url)
    seen: list[dict] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"qz-dev-{uuid.uuid4().hex[:8]}")

    def on_message(c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        cmd = json.loads(m.payload)
        seen.append(cmd)
        c.publish(f"{settings.topic_root}/{station}/{unit}/ack", json.dumps({"id": cmd["id"], "ts": int(time.time() * 1000)}), qos=1)

    client.on_message = on_message
    client.connect(target.host, target.port)
    client.loop_start()
    client.subscribe(f"{settings.topic_root}/{station}/{unit}/cmd", qos=1)
    time.sleep(0.3)
    return client, seen


def test_mqtt_call_to_queue_assign_ack_and_status_advance(settings: Settings, ingest: IngestProcess,
                                                           app: AppContext) -> None:
    term, seen = device(settings, "S1", "C01")
    try:
        call = {"id": "110-E2E-1", "ts": int(time.time() * 1000), "lat": CENTER[0], "lon": CENTER[1],
                "type": "dispute.family", "priority": 1, "address": "文三路 90 号", "caller": "13800002222"}
        term.publish(f"{settings.topic_root}/incidents", json.dumps(call), qos=1).wait_for_publish(5)
        rows = wait_until(lambda: app.db.run(dispatch.queue, CFG, now=dt.datetime.now(dt.UTC)))
        assert rows[0]["id"] == "110-E2E-1" and rows[0]["state"] == "received" and rows[0]["station"] == "S1"

        cmd = commands.assign(app, DESK, "110-E2E-1", "C01")
        wait_until(lambda: seen)
        assert len(seen) == 1 and seen[0]["id"] == cmd.id
        acked = wait_until(lambda: app.db.run(dispatch.queue, CFG, now=dt.datetime.now(dt.UTC))[0]["ack"] == ["acked"])
        assert acked

        for status in ("en_route", "on_scene"):
            term.publish(f"{settings.topic_root}/S1/C01/status",
                         json.dumps({"ts": int(time.time() * 1000), "status": status, "incident": "110-E2E-1"}), qos=1)
            detail = wait_until(lambda s=status: (d := app.db.run(dispatch.incident_detail, "110-E2E-1"))["state"] == s and d)
            assert detail[f"{status}_at"] is not None
        assert detail["assigned_at"] <= detail["en_route_at"] <= detail["on_scene_at"]
        assert detail["assignments"][0]["ack_at"] is not None
    finally:
        term.disconnect()
        term.loop_stop()


def test_simulator_acknowledges_and_drives_the_unit_to_the_scene(settings: Settings, ingest: IngestProcess,
                                                                 app: AppContext, tmp_path: Path) -> None:
    with simulator_process(settings, tmp_path / "sim.log"):
        cache = FleetCache()

        def candidates() -> list[dict]:
            fleet = cache.get(app.db)
            return recommend(fleet, *CENTER, cfg=CFG, now=time.time(), stale_after_s=60, k=3, exclude=["C01"])

        top = wait_until(candidates, timeout=60)[0]
        incident = app.db.act(create_incident, Actor("test", role="admin"), lat=top["lat"] + 0.004, lon=top["lon"], type="theft.ebike",
                              priority=2, tz=settings.timezone)
        commands.assign(app, DESK, incident, top["id"])
        wait_until(lambda: app.db.run(dispatch.queue, CFG, now=dt.datetime.now(dt.UTC))[0]["ack"] == ["acked"], timeout=30)
        reached = wait_until(lambda: app.db.run(dispatch.incident_detail, incident)["state"] == "on_scene", timeout=90)
        assert reached
        detail = app.db.run(dispatch.incident_detail, incident)
        assert detail["en_route_at"] is not None and detail["on_scene_at"] >= detail["en_route_at"]
