"""The ingest on MQTT 3.1.1 against the embedded amqtt broker of `qingzhi demo`: it stores what
comes, and its persistent session (clean_session=False, with a username) collects what is
published while it is down."""

from __future__ import annotations

import uuid
from pathlib import Path

from ingest_helpers import count_rows, now_ms, stream_fixes, wait_until

from bench.services import IngestProcess
from qingzhi.embedded import EmbeddedBroker


def test_ingest_on_amqtt_keeps_its_session_across_a_restart(
        database_url: str, topic_root: str, amqtt: EmbeddedBroker, tmp_path: Path) -> None:
    settings = dict(database_url=database_url, mqtt_url=amqtt.url_for("ingest"), mqtt_protocol="3.1.1",
                    topic_root=topic_root, client_id=f"qz-emb-{uuid.uuid4().hex[:6]}")
    base = now_ms() - 600_000
    first = IngestProcess(tmp_path / "ingest.log", **settings).start()
    try:
        first.wait_connected()
        stream_fixes(amqtt.url_for("simulator"), topic_root, 200, units=10, v5=False, base=base)
        wait_until(lambda: count_rows(database_url) == 200)
        assert first.stop() == 0
        stream_fixes(amqtt.url_for("simulator"), topic_root, 300, units=10, v5=False, base=base + 100_000)   # while it is down
        second = IngestProcess(tmp_path / "ingest.log", **settings).start()
        try:
            wait_until(lambda: count_rows(database_url) == 500, timeout=60)
            assert second.stop() == 0
        finally:
            second.kill()
    finally:
        first.kill()
    assert count_rows(database_url) == 500
