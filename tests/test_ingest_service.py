"""`qingzhi ingest` as a process against this machine's PostgreSQL and Mosquitto: every topic
and payload form, bad input next to good input, the status and rejects commands, clean stop."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from ingest_helpers import Publisher, count_rows, now_ms, query, wait_until

from bench.services import REPO, IngestProcess
from qingzhi.config import Settings


@pytest.fixture
def ingest(settings: Settings, tmp_path: Path) -> Iterator[IngestProcess]:
    proc = IngestProcess(tmp_path / "ingest.log", database_url=settings.database_url, mqtt_url=settings.mqtt_url,
                         topic_root=settings.topic_root, client_id=settings.client_id, batch_ms=50)
    proc.start()
    proc.wait_connected()
    yield proc
    proc.kill()


def iso(ms: int) -> str:
    """An ISO-8601 time with a +08:00 offset."""
    return datetime.fromtimestamp(ms / 1000, timezone(timedelta(hours=8))).isoformat(timespec="milliseconds")


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qingzhi", *args, "--database-url", settings.database_url],
                          cwd=REPO, capture_output=True, text=True, timeout=60)


def test_every_form_stored_and_every_bad_input_rejected(settings: Settings, ingest: IngestProcess) -> None:
    root, t = settings.topic_root, now_ms() - 60_000
    ot_user = f"ot{uuid.uuid4().hex[:6]}"
    good = [
        (f"{root}/s1/u1/gps", {"ts": t, "lat": 30.1, "lon": 120.1, "speed": 2, "heading": 10, "acc": 4, "alt": 9, "batt": 50}),
        (f"{root}/s1/u1/gps", [{"ts": t + 1000, "lat": 30.2, "lon": 120.2}, {"ts": t + 2000, "lat": 0, "lon": 0},
                               {"ts": iso(t + 4000), "lat": 30.3, "lon": 120.3}, {"ts": t + 3000, "lat": 30.4, "lon": 120.4}]),
        (f"{root}/s1/u1/gps", {"ts": t, "lat": 30.1, "lon": 120.1}),                 # a redelivery: stored once
        (f"{root}/s1/u1/cam", {"ts": t, "state": "recording", "batt": 90, "stream_url": "rtsp://cam/u1"}),
        (f"{root}/s1/u1/status", {"ts": t, "status": "patrolling"}),
        (f"{root}/s1/u2/status", {"status": "offline"}),                              # a last will
        (f"{root}/s1/u1/ack", {"id": str(uuid.uuid4()), "ts": t}),
        (f"{root}/incidents", {"id": "110-1", "ts": t, "lat": 30.1, "lon": 120.1, "type": "dispute.family",
                               "priority": 1, "caller": "13900000000", "summary": "noise"}),
        (f"owntracks/{ot_user}/phone", {"_type": "location", "lat": 30.5, "lon": 120.5, "tst": t // 1000, "vel": 18}),
        (f"owntracks/{ot_user}/phone2", {"_type": "lwt", "tst": t // 1000}),
        (f"owntracks/{ot_user}/phone", {"_type": "transition", "event": "enter"}),   # ignored
    ]
    bad = [
        (f"{root}/s1/u1/gps", b"<xml/>", "not JSON"),
        (f"{root}/s1/u1/gps", b"x" * (256 * 1024 + 1), "over 256 KiB"),
        (f"{root}/s1/u1/gps", {"ts": t, "lat": 0, "lon": 0}, "not_null_island"),
        (f"{root}/s1/u1/gps", {"ts": t + 3_600_000, "lat": 30.1, "lon": 120.1}, "ts_not_in_future"),
        (f"{root}/s1/u1/cam", {"ts": t, "state": "melted"}, "Invalid enum value"),
        (f"{root}/s1/u1/telemetry", {"ts": t}, "unknown topic"),
        (f"{root}/s1/u%201/gps", {"ts": t, "lat": 30.1, "lon": 120.1}, "bad unit id"),
        (f"{root}/incidents", {"id": "110-2", "ts": t, "lat": 30.1, "lon": 120.1, "type": "x", "priority": 9}, "priority_in_range"),
    ]
    pub = Publisher(settings.mqtt_url)
    try:
        for i, (topic, payload) in enumerate(good):
            pub.send(topic, payload)
            if i < len(bad):
                pub.send(bad[i][0], bad[i][1])
    finally:
        pub.close()
    url = settings.database_url
    counts = lambda: [count_rows(url, t) for t in ("rejects", "incidents", "acks", "positions")]  # noqa: E731
    try:
        wait_until(lambda: counts() == [len(bad) + 1, 1, 1, 5])
    except AssertionError:
        raise AssertionError(f"{counts()}\n{ingest.log()[-3000:]}") from None
    wait_until(lambda: count_rows(url, "statuses") == 3)
    reasons = [r["reason"] for r in query(url, "SELECT reason FROM rejects ORDER BY id")]
    for _topic, _payload, why in bad:
        assert any(why in r for r in reasons), (why, reasons)
    assert sum("not_null_island" in r for r in reasons) == 2            # the array's bad element + the object
    assert count_rows(url, "positions") == 5                            # 1 + 3 of the array + OwnTracks
    assert query(url, "SELECT speed FROM positions WHERE unit = 'phone'")[0][0] == pytest.approx(5.0)
    assert {tuple(r) for r in query(url, "SELECT unit, status FROM statuses")} == {
        ("u1", "patrolling"), ("u2", "offline"), ("phone2", "offline")}
    assert count_rows(url, "cam_states") == 1
    [inc] = query(url, "SELECT category, priority, caller_hash FROM incidents")
    assert inc["category"] == "dispute" and inc["priority"] == 1 and len(inc["caller_hash"]) == 64
    assert query(url, "SELECT kind FROM alerts ORDER BY kind") and {r[0] for r in query(url, "SELECT kind FROM alerts")} == {
        "cam_recording", "unit_offline"}

    out = cli(settings, "rejects", "--limit", "3")
    assert out.returncode == 0 and out.stdout.count("reason:") == 3 and settings.topic_root in out.stdout
    assert ingest.stop() == 0
    log = ingest.log()
    assert "rejected" in log and "ingest stopped" in log and "Traceback" not in log
    status = cli(settings, "status", "--json")
    [row] = json.loads(status.stdout)
    assert row["instance"] == settings.client_id and row["broker"] == "stopped" and row["rejects"] >= len(bad)
    table = cli(settings, "status").stdout
    assert "msgs/s" in table and settings.client_id in table


def test_unreachable_database_or_broker_is_one_line(settings: Settings) -> None:
    for db, broker, error in (("postgresql://postgres@127.0.0.1:1/x", settings.mqtt_url, "cannot reach database"),
                              (settings.database_url, "mqtt://127.0.0.1:1", "cannot reach MQTT broker")):
        out = subprocess.run([sys.executable, "-m", "qingzhi", "ingest", "--database-url", db, "--mqtt-url", broker],
                             cwd=REPO, capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and out.stderr.strip().splitlines()[-1].startswith(f"qingzhi: error: {error}")
        assert "Traceback" not in out.stderr


def test_rejects_since_and_empty_status(settings: Settings) -> None:
    assert cli(settings, "status").stdout.strip() == "no ingest process has reported yet"
    assert cli(settings, "rejects").stdout.strip() == "no rejected messages"
    query(settings.database_url, "INSERT INTO rejects (recv_ts, topic, payload, size, reason) VALUES "
          "(now() - interval '2 hours', 'old/topic', '\\x00ff', 2, 'old'), (now(), 'new/topic', 'é', 9000, 'new')")
    recent = cli(settings, "rejects", "--since", (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat())
    assert "new/topic" in recent.stdout and "old/topic" not in recent.stdout and "é… (9000 bytes)" in recent.stdout
    everything = cli(settings, "rejects")
    assert everything.stdout.index("new/topic") < everything.stdout.index("old/topic") and "\\x00\\xff" in everything.stdout
    bad = cli(settings, "rejects", "--since", "last tuesday")
    assert bad.returncode == 2 and bad.stderr.startswith("qingzhi: error: bad --since")
