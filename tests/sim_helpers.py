"""Helpers for tests that run the live simulator: record what it publishes, count what should be stored."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg

from qingzhi.simulator.live import Simulation


class Recorder:
    """Wraps a Simulation's publisher: remembers every message it sent (topic suffix, payload)."""

    def __init__(self, sim: Simulation) -> None:
        self.sent: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        publish = sim.pub.publish

        def record(topic: str, payload: Any) -> None:
            publish(topic, payload)
            with self._lock:
                self.sent.append((topic, payload))

        sim.pub.publish = record  # type: ignore[method-assign]

    def expected_rows(self) -> Counter[str]:
        """How many rows each table should hold for what was sent (PROTOCOL.md: one row per reading)."""
        rows: Counter[str] = Counter()
        incidents = set()
        with self._lock:
            for topic, payload in self.sent:
                kind = topic.rsplit("/", 1)[-1]
                if kind == "gps":
                    rows["positions"] += len(payload) if isinstance(payload, list) else 1
                elif kind == "status":
                    rows["statuses"] += 1
                elif kind == "cam":
                    rows["cam_states"] += 1
                elif kind == "incidents":
                    incidents.add(payload["id"])
        rows["incidents"] = len(incidents)
        return rows


async def table_counts(url: str) -> Counter[str]:
    """Rows in positions, statuses, cam_states, incidents and rejects."""
    conn = await asyncpg.connect(url)
    try:
        return Counter({t: await conn.fetchval(f"SELECT count(*) FROM {t}")
                        for t in ("positions", "statuses", "cam_states", "incidents", "rejects")})
    finally:
        await conn.close()


def run_for(sim: Simulation, seconds: float, during: Callable[[], None] | None = None) -> None:
    """Run the simulation in a thread for `seconds` (calling `during` halfway), then stop it cleanly."""
    stop = threading.Event()
    thread = threading.Thread(target=sim.run, args=(stop,), daemon=True)
    thread.start()
    time.sleep(seconds / 2)
    if during:
        during()
    time.sleep(seconds / 2)
    stop.set()
    thread.join(15)
    assert not thread.is_alive()


@contextmanager
def simulator_process(settings: Any, log_path: Path, units: int = 12) -> Iterator[subprocess.Popen]:
    """`qingzhi simulate` on this test's database, broker and topic root (one station, 20× speed, no calls),
    its output in `log_path`; stopped on leaving."""
    env = {**os.environ, "QZ_DATABASE_URL": settings.database_url, "QZ_MQTT_URL": settings.mqtt_url,
           "QZ_TOPIC_ROOT": settings.topic_root, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        sim = subprocess.Popen([sys.executable, "-m", "qingzhi", "simulate", "--units", str(units), "--stations", "1",
                                "--speedup", "20", "--rate", "1", "--incidents-per-hour", "0"],
                               cwd=Path(__file__).resolve().parent.parent, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
        try:
            yield sim
        finally:
            sim.terminate()
            sim.wait(20)
