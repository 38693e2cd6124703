"""No loss, no duplicates, across the failures that happen: the ingest killed mid-stream, two
ingest processes sharing the load, the database restarting. These need the repository's broker
settings (deploy/mosquitto.conf), so they start their own Mosquitto; the database restart uses
a PostgreSQL cluster of its own, never the machine's."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from ingest_helpers import OwnPostgres, count_rows, now_ms, publishing, query, stream_fixes, wait_until
from ingest_helpers import ingest_process as start_ingest

from bench.services import IngestProcess, Mosquitto

pytestmark = pytest.mark.slow
N = 20_000


def ingest(tmp_path: Path, name: str, database_url: str, broker: Mosquitto, root: str, **extra: str) -> IngestProcess:
    return start_ingest(tmp_path, f"dur-{name}", database_url, broker.url, root, **extra)


def test_sigkill_mid_stream_then_restart_stores_exactly_all(
        database_url: str, topic_root: str, broker: Mosquitto, tmp_path: Path) -> None:
    first = ingest(tmp_path, "a", database_url, broker, topic_root).start()
    first.wait_connected()
    publisher = publishing(broker.url, topic_root, N)
    wait_until(lambda: count_rows(database_url) >= 2000, every=0.02)
    first.kill()
    assert publisher.is_alive(), "the kill should land in the middle of the stream"
    at_kill = count_rows(database_url)
    publisher.join(120)
    second = IngestProcess(first.log_path, **{k[3:].lower(): v for k, v in first.env.items()
                                              if k in ("QZ_DATABASE_URL", "QZ_MQTT_URL", "QZ_TOPIC_ROOT", "QZ_CLIENT_ID")})
    second.start()
    try:
        wait_until(lambda: count_rows(database_url) == N, timeout=90)
        assert second.stop() == 0
    finally:
        second.kill()
    assert at_kill < N and count_rows(database_url) == N
    assert query(database_url, "SELECT count(DISTINCT unit) FROM positions")[0][0] == 100
    assert "session present: True" in second.log()


def test_shared_subscription_two_processes_store_each_fix_once(
        database_url: str, topic_root: str, broker: Mosquitto, tmp_path: Path) -> None:
    group = f"g{uuid.uuid4().hex[:8]}"
    procs = [ingest(tmp_path, name, database_url, broker, topic_root, share_group=group).start() for name in "ab"]
    try:
        for p in procs:
            p.wait_connected()
            assert f"$share/{group}/{topic_root}/#" in p.log()
        publishing(broker.url, topic_root, N).join(120)
        wait_until(lambda: count_rows(database_url) == N, timeout=90)
        assert [p.stop() for p in procs] == [0, 0]
    finally:
        for p in procs:
            p.kill()
    stats = [json.loads(r["stats"]) for r in query(database_url, "SELECT stats FROM ingest_stats")]
    assert len(stats) == 2 and all(s["messages"] > 0 for s in stats)
    assert sum(s["messages"] for s in stats) == N == count_rows(database_url)   # each delivered to one only


def test_database_restart_mid_stream_loses_nothing(topic_root: str, broker: Mosquitto, tmp_path: Path) -> None:
    pg = OwnPostgres().init()
    proc = None
    try:
        proc = ingest(tmp_path, "db", pg.url, broker, topic_root).start()
        proc.wait_connected()
        publisher = publishing(broker.url, topic_root, N)
        wait_until(lambda: count_rows(pg.url) >= 2000, every=0.02)
        pg.stop()
        assert publisher.is_alive()
        try:
            wait_until(lambda: "database unreachable" in proc.log(), timeout=30)
        except AssertionError:
            raise AssertionError(proc.log()[-9000:]) from None
        pg.start()
        publisher.join(120)
        wait_until(lambda: count_rows(pg.url) == N, timeout=90)
        assert proc.stop() == 0
        assert count_rows(pg.url) == N
        log = proc.log()
        assert "not acknowledging" in log and log.index("database unreachable") < log.rindex("database connection ok")
    finally:
        if proc:
            proc.kill()
        pg.destroy()


def test_broker_restart_reconnects_and_keeps_the_session(database_url: str, topic_root: str, tmp_path: Path) -> None:
    own = Mosquitto(tmp_path / "restart").start()
    proc = ingest(tmp_path, "rb", database_url, own, topic_root, batch_ms="50")
    try:
        proc.start().wait_connected()
        base = now_ms() - 600_000
        stream_fixes(own.url, topic_root, 1000, base=base)
        wait_until(lambda: count_rows(database_url) == 1000)
        own.stop()                       # SIGTERM: Mosquitto saves its sessions (persistence true)
        wait_until(lambda: "disconnected from" in proc.log())
        own.start()
        stream_fixes(own.url, topic_root, 2000, base=base)   # the first 1000 are repeats: stored once
        try:
            wait_until(lambda: count_rows(database_url) == 2000, timeout=30)
        except AssertionError:
            raise AssertionError(f"{count_rows(database_url)}\n{proc.log()[-3000:]}") from None
        assert proc.stop() == 0
    finally:
        proc.kill()
        own.stop()
    assert count_rows(database_url) == 2000
    assert proc.log().count("session present: True") >= 1
