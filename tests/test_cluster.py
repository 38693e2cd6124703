"""Scale-out on a real 3-node RabbitMQ cluster (deploy/cluster/up.sh) with 3 AMQP ingest workers.

While a device publishes QoS 1 fixes over MQTT to one node, a broker node is SIGKILLed and
started again and a worker is SIGKILLed: every fix must be stored exactly once and each unit's
live position must be its newest fix. A few seconds of traffic; the cluster is left running
for the next run (up.sh is idempotent; `deploy/cluster/down.sh` stops it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench.services import IngestProcess
from cluster_helpers import AMQP_URLS, REPO, delete_topology, kill_node, mqtt_url, up
from ingest_helpers import Publisher, count_rows, ingest_process, query, stream_fixes, wait_until

N, UNITS, QUEUES = 6000, 100, 3


@pytest.fixture(scope="module")
def cluster() -> str:
    """The running cluster (started if it is not); up.sh's output."""
    return up()


def worker(tmp_path: Path, i: int, database_url: str, root: str) -> IngestProcess:
    """Ingest worker i, preferring queue i (and so starting on node i+1)."""
    return ingest_process(tmp_path, f"w{i}", database_url, mqtt_url(1), root, source="amqp", amqp_url=AMQP_URLS,
                          amqp_queues=QUEUES, amqp_prefer=i, stats_interval_s=1, batch_ms=50)


def test_node_and_worker_killed_mid_stream_store_every_fix_once_in_order(
        cluster: str, database_url: str, topic_root: str, tmp_path: Path) -> None:
    workers = [worker(tmp_path, i, database_url, topic_root).start() for i in range(3)]
    try:
        for w in workers:
            w.wait_connected(line="consuming")
        base = int(time.time() * 1000) - 3_600_000
        # The device publishes through node 2 (QoS 1: each window waits for the broker's PUBACKs).
        publisher = threading.Thread(target=stream_fixes, args=(mqtt_url(2), topic_root, N),
                                     kwargs={"units": UNITS, "v5": False, "base": base, "per_s": 1200}, daemon=True)
        publisher.start()
        wait_until(lambda: count_rows(database_url) >= 1000, every=0.05)
        kill_node(1)                                   # worker 0's node, and leader of some queues
        wait_until(lambda: count_rows(database_url) >= 2500, timeout=40, every=0.05)
        workers[1].kill()                              # SIGKILL: its unacknowledged messages go to a standby
        assert publisher.is_alive(), "the faults should land in the middle of the stream"
        restarted = up()                               # node 1 comes back and rejoins; the others are left alone
        assert "starting node qz1@localhost" in restarted and "qz2@localhost already running" in restarted
        assert "3 of 3 nodes running" in restarted and f"QZ_AMQP_URL='{AMQP_URLS}'" in restarted
        assert "mqtt://guest:guest@127.0.0.1:1901" in restarted
        publisher.join(60)
        assert not publisher.is_alive()
        wait_until(lambda: count_rows(database_url) >= N, timeout=60, every=0.2)
        time.sleep(1)                                  # any late duplicate would show now
        assert count_rows(database_url) == N
        assert query(database_url, "SELECT count(DISTINCT (unit, ts)) FROM positions")[0][0] == N
        newest = base + (N // UNITS - 1) * 1000
        live = query(database_url, "SELECT id, (extract(epoch FROM fix_ts) * 1000)::bigint AS ms FROM units")
        assert len(live) == UNITS and {r["ms"] for r in live} == {newest}
        assert query(database_url, "SELECT count(*) FROM rejects")[0][0] == 0
        assert "moving to the next node" in workers[0].log()
        # `qingzhi status --json`: each worker's queues and lag
        time.sleep(1.5)
        out = subprocess.run([sys.executable, "-m", "qingzhi", "status", "--json"], cwd=REPO, capture_output=True,
                             text=True, env={"QZ_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}, timeout=60)
        rows = [r for r in json.loads(out.stdout) if "instance" in r and r.get("source") == "amqp"]
        assert len(rows) == 3 and all(r["lag_s"] is not None for r in rows)
        alive = [r for r in rows if not r["stale"]]
        assert len(alive) == 2 and all(len(r["queues"]) == QUEUES for r in alive)
        taking = {q for r in alive for q, fig in r["queues"].items() if fig["taking"]}
        assert len(taking) == QUEUES                    # every queue had an active consumer among the two left
        table = subprocess.run([sys.executable, "-m", "qingzhi", "status"], cwd=REPO, capture_output=True, text=True,
                               env={"QZ_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}, timeout=60).stdout
        assert "queues" in table and "*:" in table and "(amqp://127.0.0.1:568" in table
    finally:
        for w in workers:
            w.stop()
        delete_topology(topic_root, QUEUES)


def test_dotted_ids_reach_the_right_station_and_unit(cluster: str, database_url: str, topic_root: str,
                                                     tmp_path: Path) -> None:
    """RabbitMQ 3.10 turns '/' into '.' and leaves '.' alone: the worker splits by the known stations."""
    query(database_url, "INSERT INTO stations (id, name_zh, name_en, lat, lon) VALUES ('s.1', '一', 'One', 30, 120)")
    one = worker(tmp_path, 0, database_url, topic_root).start()
    try:
        one.wait_connected(line="consuming")
        ts = int(time.time() * 1000) - 5000
        stream = Publisher(mqtt_url(3), v5=False)
        stream.send(f"{topic_root}/s.1/u.7.b/gps", {"ts": ts, "lat": 30.1, "lon": 120.1})
        stream.send(f"{topic_root}/nope", {"ts": ts})
        stream.close()
        wait_until(lambda: count_rows(database_url) == 1 and count_rows(database_url, "rejects") == 1)
        assert [tuple(r) for r in query(database_url, "SELECT station, unit FROM positions")] == [("s.1", "u.7.b")]
    finally:
        one.stop()
        delete_topology(topic_root, QUEUES)
