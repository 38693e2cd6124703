"""Helpers shared by the ingest tests: message factories, a publisher, polling."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.services import IngestProcess, free_port
from ingest.message import Msg
from qingzhi.config import parse_mqtt_url

ROOT = "qz/v1"


def now_ms() -> int:
    """The current time in epoch ms."""
    return int(time.time() * 1000)


def make_message(topic: str = f"{ROOT}/s1/u1/gps", payload: Any = None, recv_ms: int | None = None, **fields: Any) -> Msg:
    """A received message; payload as bytes, or any JSON value, or by default a good gps fix (fields override)."""
    if payload is None:
        payload = {"ts": now_ms(), "lat": 30.27, "lon": 120.15, **fields}
    raw = payload if isinstance(payload, bytes) else msgspec.json.encode(payload)
    return Msg(topic, raw, now_ms() if recv_ms is None else recv_ms)


class Publisher:
    """A QoS 1 publisher on a broker URL; every publish waits for the broker's PUBACK."""

    def __init__(self, url: str, v5: bool = True):
        target = parse_mqtt_url(url)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"qz-test-pub-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
        if target.username:
            self.client.username_pw_set(target.username, target.password)
        self.client.max_inflight_messages_set(1000)
        self.client.connect(target.host, target.port)
        self.client.loop_start()

    def send(self, topic: str, payload: Any, qos: int = 1, wait: bool = True) -> mqtt.MQTTMessageInfo:
        """Publish bytes or a JSON value."""
        raw = payload if isinstance(payload, bytes) else msgspec.json.encode(payload)
        info = self.client.publish(topic, raw, qos=qos)
        if wait:
            info.wait_for_publish(30)
        return info

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


def query(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Run one query on a fresh connection."""
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()
    return asyncio.run(go())


def wait_until(check: Callable[[], Any], timeout: float = 30.0, every: float = 0.1) -> Any:
    """Poll until check() is truthy; return its value or fail with the last one."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s (last value {value!r})")


def stream_fixes(url: str, root: str, n: int, units: int = 100, window: int = 1000, v5: bool = True,
                 base: int | None = None, per_s: float | None = None) -> None:
    """Publish n distinct QoS 1 fixes (units × one per second from `base`), each window acknowledged by the broker;
    at most `per_s` fixes a second if given (a stream that lasts through a fault)."""
    pub = Publisher(url, v5)
    try:
        base = base or now_ms() - 3_600_000
        info = None
        started = time.monotonic()
        for i in range(n):
            if per_s and i % window == 0:
                time.sleep(max(0.0, started + i / per_s - time.monotonic()))
            u, k = i % units, i // units
            info = pub.send(f"{root}/s{u % 3}/u{u:03d}/gps",
                            {"ts": base + k * 1000, "lat": 30.2 + u * 1e-3, "lon": 120.1 + k * 1e-5, "speed": 5.0},
                            wait=False)
            if i % window == window - 1:
                info.wait_for_publish(60)
        if info is not None:
            info.wait_for_publish(60)
    finally:
        pub.close()


def publishing(url: str, root: str, n: int, per_s: float | None = None) -> threading.Thread:
    """stream_fixes in a background thread, started."""
    thread = threading.Thread(target=stream_fixes, args=(url, root, n), kwargs={"per_s": per_s}, daemon=True)
    thread.start()
    return thread


def ingest_process(tmp_path: Path, name: str, database_url: str, mqtt_url: str, root: str,
                   **extra: str | int | float) -> IngestProcess:
    """An ingest process (not started) logging to tmp_path/<name>.log, with a client id of its own."""
    return IngestProcess(tmp_path / f"{name}.log", database_url=database_url, mqtt_url=mqtt_url, topic_root=root,
                         client_id=f"qz-{name}-{uuid.uuid4().hex[:6]}", **extra)


def count_rows(url: str, table: str = "positions") -> int:
    """Rows in a table."""
    return query(url, f"SELECT count(*) FROM {table}")[0][0]


class OwnPostgres:
    """A PostgreSQL cluster of this test's own (initdb into a temp dir, a free port), which the test
    may stop and start at will; run as the `postgres` OS user when we are root."""

    BIN = Path(os.environ.get("QZ_PG_BIN") or max(Path("/usr/lib/postgresql").glob("*/bin"),
                                                   key=lambda p: int(p.parent.name), default="/usr/lib/postgresql/15/bin"))

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="qz-pg-"))
        self.base.chmod(0o755)
        self.data = self.base / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = [str(self.BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def init(self) -> "OwnPostgres":
        """initdb (trust auth) and start."""
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
            shutil.chown(self.data, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        return self.start()

    def start(self) -> "OwnPostgres":
        """Start and wait until it accepts connections."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.base / "server.log"), "-w", "-o",
                  f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        return self

    def stop(self) -> None:
        """Fast shutdown: running transactions are rolled back, connections cut."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        """Stop (if running) and delete everything."""
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.base, ignore_errors=True)
