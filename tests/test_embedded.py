"""The embedded pair of `qingzhi demo` (pgserver + amqtt) with the real ingest and the simulator:
everything the fleet sends lands in the embedded PostgreSQL, also what it sent while the ingest was down."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sim_helpers import Recorder, run_for, table_counts

from bench.services import IngestProcess
from qingzhi.config import load_settings
from qingzhi.embedded import EmbeddedBroker, start_postgres
from qingzhi.simulator.live import Simulation
from qingzhi.simulator.run import prepare, store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def embedded_pg() -> Iterator[str]:
    """An embedded PostgreSQL in a fresh directory under /tmp (not pytest's 0700 tmp root: see test_demo)."""
    folder = Path(tempfile.mkdtemp(prefix="qz-emb-", dir="/tmp"))
    with start_postgres(folder) as server:
        yield server.get_uri()
    shutil.rmtree(folder, ignore_errors=True)


def test_fleet_lands_in_embedded_pg_across_an_ingest_restart(embedded_pg: str, amqtt: EmbeddedBroker,
                                                             tmp_path: Path) -> None:
    settings = load_settings(database_url=embedded_pg, mqtt_url=amqtt.url_for("simulator"), mqtt_protocol="3.1.1",
                             topic_root=f"qzemb/{uuid.uuid4().hex[:8]}", client_id=f"qz-emb-{uuid.uuid4().hex[:6]}")
    district, specs = prepare(settings, units=24, stations=2, seed=9, roads=None)
    store(settings, district, specs)  # migrations and reference data
    before = asyncio.run(table_counts(embedded_pg))
    ingest_settings = {**settings.model_dump(include={"database_url", "mqtt_protocol", "topic_root", "client_id"}),
                       "mqtt_url": amqtt.url_for("ingest")}
    ingest = IngestProcess(tmp_path / "ingest.log", **ingest_settings).start()
    restarted: IngestProcess | None = None
    try:
        ingest.wait_connected()
        expected: Counter[str] = Counter()
        # 1. the fleet runs with the ingest up; 2. the ingest is stopped (cleanly, SIGTERM) and a fleet runs
        # while it is down: its persistent session on amqtt collects those messages; 3. the ingest restarts.
        # (The fleet pauses while the ingest shuts down: amqtt 0.12 drops QoS 1 messages that are in flight
        # to a client when it disconnects, instead of redelivering them; see the demo docstring.)
        for phase, seed in (("up", 9), ("down", 10)):
            if phase == "down":
                assert ingest.stop() == 0
            sim = Simulation(settings, district, specs, rate=0.5, speedup=60.0, incidents_per_hour=240.0, seed=seed)
            recorder = Recorder(sim)
            run_for(sim, 4)
            expected += recorder.expected_rows()
        down = recorder.expected_rows()
        assert down["positions"] > 24 * 4 and down["statuses"] >= 24 and down["cam_states"] >= 24
        assert asyncio.run(table_counts(embedded_pg)) - before != expected  # nothing of phase 2 stored yet
        restarted = IngestProcess(tmp_path / "ingest.log", **ingest_settings).start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            got = asyncio.run(table_counts(embedded_pg)) - before
            if all(got[t] >= expected[t] for t in expected):
                break
            time.sleep(0.5)
        assert {t: got[t] for t in expected} == dict(expected)  # nothing lost, nothing doubled
        assert got["rejects"] == 0 and expected["incidents"] >= 1
        assert restarted.stop() == 0
    finally:
        ingest.kill()
        if restarted:
            restarted.kill()
