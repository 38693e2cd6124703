"""The live simulator against the machine's Mosquitto: messages follow PROTOCOL.md, commands are obeyed."""

from __future__ import annotations

import asyncio
import json
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from qingzhi.config import Settings, load_settings, parse_mqtt_url
from qingzhi.simulator.live import Simulation
from qingzhi.simulator.run import prepare, store

from conftest import MQTT_URL
from sim_helpers import Recorder, run_for, table_counts

from bench.services import IngestProcess, Mosquitto

ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
STATUSES = {"available", "patrolling", "en_route", "on_scene", "busy", "off_duty", "offline"}
CAM_STATES = {"recording", "streaming", "standby", "off", "fault"}


def check_ts(ts: object, now_ms: float) -> None:
    assert isinstance(ts, int) and now_ms - 7 * 86400_000 < ts < now_ms + 300_000, ts


def check_fix(fix: dict, now_ms: float) -> None:
    check_ts(fix["ts"], now_ms)
    assert -90 <= fix["lat"] <= 90 and -180 <= fix["lon"] <= 180 and (fix["lat"], fix["lon"]) != (0, 0)
    assert fix["speed"] >= 0 and 0 <= fix["heading"] <= 360 and fix["acc"] > 0 and 0 <= fix["batt"] <= 100


def check_message(root: str, topic: str, payload: bytes) -> str:
    """Assert one message follows PROTOCOL.md; return its kind."""
    now_ms = time.time() * 1000
    rest = topic[len(root) + 1:].split("/")
    if rest[-1] == "cmd":  # the test's own commands, centre -> device
        return "cmd"
    body = json.loads(payload)
    if rest == ["incidents"]:
        check_ts(body["ts"], now_ms)
        assert isinstance(body["id"], str) and isinstance(body["type"], str) and "." in body["type"]
        assert 1 <= body["priority"] <= 4 and isinstance(body["caller"], str) and body["caller"].isdigit()
        assert isinstance(body["lat"], float) and isinstance(body["lon"], float)
        return "incidents"
    station, unit, kind = rest
    assert ID.match(station) and ID.match(unit)
    if kind == "gps":
        for fix in body if isinstance(body, list) else [body]:
            check_fix(fix, now_ms)
        return "gps[]" if isinstance(body, list) else "gps"
    if kind == "cam":
        check_ts(body["ts"], now_ms)
        assert body["state"] in CAM_STATES and 0 <= body["batt"] <= 100 and 0 <= body["storage"] <= 100
        return "cam"
    if kind == "status":
        assert body["status"] in STATUSES
        if body["status"] != "offline":  # an offline report is like a last will: no ts
            check_ts(body["ts"], now_ms)
        assert isinstance(body.get("incident", ""), str)
        return "status"
    if kind == "ack":
        check_ts(body["ts"], now_ms)
        assert isinstance(body["id"], str)
        return "ack"
    raise AssertionError(f"unexpected topic {topic}")


class Listener:
    """A paho subscriber to {root}/# collecting (topic, payload)."""

    def __init__(self, root: str) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        target = parse_mqtt_url(MQTT_URL)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"qz-listen-{uuid.uuid4().hex[:6]}")
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.client.connect(target.host, target.port)
        self.client.subscribe(f"{root}/#", qos=1)
        self.client.loop_start()
        time.sleep(0.3)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def live(topic_root: str):
    """A running simulation of 30 units at speedup 60 (no database needed)."""
    settings: Settings = load_settings(mqtt_url=MQTT_URL, topic_root=topic_root)
    district, specs = prepare(settings, units=30, stations=2, seed=4, roads=None)
    listener = Listener(topic_root)
    sim = Simulation(settings, district, specs, rate=1.0, speedup=60.0, incidents_per_hour=240.0, seed=4)
    stop = threading.Event()
    thread = threading.Thread(target=sim.run, args=(stop,), daemon=True)
    thread.start()
    assert sim.pub.subscribed.wait(10)
    yield sim, listener, topic_root
    stop.set()
    thread.join(10)
    listener.close()
    assert not thread.is_alive()


def test_messages_follow_the_protocol(live) -> None:
    sim, listener, root = live
    time.sleep(6)
    kinds: Counter[str] = Counter()
    units = set()
    while not listener.messages.empty():
        topic, payload = listener.messages.get_nowait()
        kinds[check_message(root, topic, payload)] += 1
        if not topic.endswith("incidents"):
            units.add(topic.split("/")[-2])
    assert kinds["gps"] >= 30 * 4 and kinds["cam"] >= 30 and kinds["status"] >= 30 and kinds["incidents"] >= 1
    assert units == set(sim.fleet.units)
    assert sim.pub.in_flight() < 100


def _wait_for(listener: Listener, root: str, pred, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            topic, payload = listener.messages.get(timeout=0.2)
        except queue.Empty:
            continue
        if check_message(root, topic, payload) == "cmd":
            continue
        body = json.loads(payload)
        if pred(topic, body):
            return {"topic": topic, "body": body, "at": time.monotonic()}
    raise AssertionError("timed out waiting for a message")


def test_dispatch_command_is_acknowledged_and_obeyed(live) -> None:
    sim, listener, root = live
    time.sleep(0.5)
    unit = next(u for u in sim.fleet.units.values() if u.spec.kind == "car" and u.status == "patrolling")
    lat, lon = sim.d.proj.to_latlon(unit.x + 900, unit.y - 700)
    cmd_id = str(uuid.uuid4())
    sent = time.monotonic()
    listener.client.publish(f"{root}/{unit.spec.station}/{unit.spec.id}/cmd", json.dumps(
        {"id": cmd_id, "ts": int(time.time() * 1000), "kind": "dispatch", "incident": "T-1", "lat": float(lat),
         "lon": float(lon), "note": "速到现场", "by": "tester"}), qos=1)
    mine = f"{root}/{unit.spec.station}/{unit.spec.id}/"
    ack = _wait_for(listener, root, lambda t, b: t == mine + "ack", 3)
    assert ack["body"]["id"] == cmd_id and ack["at"] - sent < 1.5
    en_route = _wait_for(listener, root, lambda t, b: t == mine + "status" and b["status"] != "patrolling", 3)
    assert en_route["body"]["status"] == "en_route" and en_route["body"]["incident"] == "T-1"
    on_scene = _wait_for(listener, root, lambda t, b: t == mine + "status" and b["status"] != "en_route", 20)
    assert on_scene["body"] == {"ts": on_scene["body"]["ts"], "status": "on_scene", "incident": "T-1"}
    fix = _wait_for(listener, root, lambda t, b: t == mine + "gps", 5)["body"]
    x, y = sim.d.proj.to_xy(fix["lat"], fix["lon"])
    assert np.hypot(x - (unit.x), y - (unit.y)) < 100  # the reported position is where the unit stands
    assert np.hypot(unit.x - (unit.path[-1][0]), unit.y - unit.path[-1][1]) < 1.0


def test_recall_and_unknown_unit(live) -> None:
    sim, listener, root = live
    unit = next(iter(sim.fleet.units.values()))
    listener.client.publish(f"{root}/{unit.spec.station}/nobody/cmd", json.dumps({"id": "x1", "kind": "recall"}), qos=1)
    listener.client.publish(f"{root}/{unit.spec.station}/{unit.spec.id}/cmd", b"not json", qos=1)
    listener.client.publish(f"{root}/{unit.spec.station}/{unit.spec.id}/cmd",
                            json.dumps({"id": "x2", "ts": 1, "kind": "recall", "by": "t"}), qos=1)
    ack = _wait_for(listener, root, lambda t, b: t.endswith("/ack"), 3)
    assert ack["topic"].endswith(f"/{unit.spec.id}/ack") and ack["body"]["id"] == "x2"
    status = _wait_for(listener, root, lambda t, b: t.endswith(f"/{unit.spec.id}/status"), 3)
    assert status["body"]["status"] == "available"


def test_real_ingest_stores_everything_with_no_rejects(database_url: str, topic_root: str, tmp_path) -> None:
    """The simulator against the real ingest on the machine's Mosquitto and PostgreSQL: every reading is a row."""
    settings = load_settings(database_url=database_url, mqtt_url=MQTT_URL, topic_root=topic_root,
                             client_id=f"qz-simtest-{uuid.uuid4().hex[:6]}")
    district, specs = prepare(settings, units=30, stations=2, seed=6, roads=None)
    store(settings, district, specs)
    ingest = IngestProcess(tmp_path / "ingest.log", **settings.model_dump(
        include={"database_url", "mqtt_url", "topic_root", "client_id"})).start()
    try:
        ingest.wait_connected()
        sim = Simulation(settings, district, specs, rate=0.5, speedup=60.0, incidents_per_hour=240.0, seed=6)
        recorder = Recorder(sim)
        run_for(sim, 5)
        expected = recorder.expected_rows()
        assert expected["positions"] > 30 * 5 and expected["incidents"] >= 1
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            got = asyncio.run(table_counts(database_url))
            if all(got[t] >= expected[t] for t in expected):
                break
            time.sleep(0.3)
        assert {t: got[t] for t in expected} == dict(expected)
        assert got["rejects"] == 0
        located = {t.split("/")[-2] for t, _ in recorder.sent if t.endswith("/gps")}
        rows = asyncio.run(_fetch(database_url, "SELECT array_agg(id) FROM units WHERE kind <> 'unknown' AND fix_ts IS NOT NULL"))
        assert set(rows) == located and len(located) > 25  # roster units (with kinds) are the ones on the map
        assert ingest.stop() == 0
    finally:
        ingest.kill()


async def _fetch(url: str, sql: str):
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def test_simulate_command_errors_and_clean_stop(topic_root: str) -> None:
    """`qingzhi simulate`: one-line errors for bad options and an unreachable broker; SIGTERM/SIGINT stop it cleanly."""
    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "qingzhi", "simulate", "--units", "5"]
    bad = subprocess.run(cmd + ["--mqtt-url", "mqtt://127.0.0.1:1"], cwd=root, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and "cannot reach MQTT broker mqtt://127.0.0.1:1" in bad.stderr
    assert "Traceback" not in bad.stderr
    silly = subprocess.run(cmd + ["--rate", "0"], cwd=root, capture_output=True, text=True, timeout=60)
    assert silly.returncode == 2 and "--rate" in silly.stderr
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen(cmd + ["--mqtt-url", MQTT_URL, "--topic-root", topic_root, "--rate", "0.5"], cwd=root,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        listener = Listener(topic_root)
        try:
            _wait_for(listener, topic_root, lambda t, b: t.endswith("/gps"), 20)
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=20)
        finally:
            listener.close()
            proc.kill()
        assert proc.returncode == 0, err
        assert "simulator stopped" in out and "Traceback" not in err


def test_broker_restart_mid_run(tmp_path) -> None:
    """The broker goes away for a few seconds: the simulator keeps going, resends what was not acknowledged."""
    broker = Mosquitto(tmp_path / "mq").start()
    settings = load_settings(mqtt_url=broker.url, topic_root="qzbd/v1")
    district, specs = prepare(settings, units=20, stations=2, seed=1, roads=None)
    sim = Simulation(settings, district, specs, rate=0.5, speedup=10.0, incidents_per_hour=100.0, seed=1)
    stop = threading.Event()
    thread = threading.Thread(target=sim.run, args=(stop,), daemon=True)
    thread.start()
    try:
        time.sleep(2)
        broker.stop()
        sent = sim.pub.sent
        time.sleep(3)
        assert sim.pub.sent > sent and sim.pub.in_flight() > 0  # still simulating; unacknowledged are kept
        broker = Mosquitto(tmp_path / "mq", port=broker.port).start()
        deadline = time.monotonic() + 20
        while sim.pub.in_flight() > 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sim.pub.in_flight() <= 5  # the backlog was resent and acknowledged
    finally:
        stop.set()
        thread.join(15)
        broker.stop()
    assert not thread.is_alive()
