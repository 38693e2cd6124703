"""Faults mid-stream that give no error, only silence or a dead link, each ending with every fix
stored exactly once: a database that freezes (a TCP proxy that stops forwarding, sockets held
open) and a network cut between the ingest and the broker; and the dashboard facing a frozen
database. Complements test_ingest_durability.py (SIGKILL, broker restart, database restart)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from ingest_helpers import count_rows, ingest_process, publishing, query, wait_until
from tcp_proxy import TcpProxy

from auth_helpers import make_user, session_cookie
from bench.services import REPO, IngestProcess, Mosquitto, dashboard_process
from ingest.status import read_rows as status_rows
from qingzhi.db import NotAnswering

pytestmark = pytest.mark.slow
N = 30_000
PER_S = 1_500            # the stream lasts ~20 s: longer than the 15 s freeze, so it runs on through each fault
FREEZE_S = 15.0
CUT_S = 10.0
HEALTH_S = 3.0


@pytest.fixture
def proxies() -> Iterator[list[TcpProxy]]:
    """Proxies the test makes; all stopped afterwards."""
    made: list[TcpProxy] = []
    yield made
    for p in made:
        p.stop()


def proxy(proxies: list[TcpProxy], url: str) -> TcpProxy:
    p = TcpProxy.before(url).start()
    proxies.append(p)
    return p


def status_within(url: str, timeout_s: float = HEALTH_S) -> tuple[float, list[dict] | str]:
    """`qingzhi status`'s rows (or its NotAnswering message) and how long it took."""
    started = time.monotonic()
    try:
        rows: list[dict] | str = asyncio.run(status_rows(url, timeout_s))
    except NotAnswering as exc:
        rows = str(exc)
    return time.monotonic() - started, rows


def start_streaming(proc: IngestProcess, broker: Mosquitto, root: str, url: str) -> threading.Thread:
    """Start the ingest and a stream that lasts through the fault; return once 2,000 fixes are stored."""
    proc.start().wait_connected()
    publisher = publishing(broker.url, root, N, per_s=PER_S)
    wait_until(lambda: count_rows(url) >= 2000, every=0.02)
    return publisher


def finish(proc: IngestProcess, publisher: threading.Thread, url: str, rows_before: int) -> float:
    """Once the fault is over: the seconds until rows flow again; then every fix stored and a clean stop."""
    back_at = time.monotonic()
    wait_until(lambda: count_rows(url) > rows_before, timeout=60, every=0.05)
    recovery_s = time.monotonic() - back_at
    publisher.join(120)
    wait_until(lambda: count_rows(url) == N, timeout=60)
    assert proc.stop() == 0
    return recovery_s


def test_database_freeze_mid_stream_acknowledges_nothing_and_loses_nothing(
        database_url: str, topic_root: str, broker: Mosquitto, tmp_path: Path, proxies: list[TcpProxy]) -> None:
    db_link = proxy(proxies, database_url)
    mqtt_link = proxy(proxies, broker.url)     # counts what the ingest sends the broker: its acknowledgements
    frozen_url = db_link.url(database_url)
    proc = ingest_process(tmp_path, "freeze", frozen_url, mqtt_link.url(broker.url), topic_root,
                          ingest_db_timeout_s=4, db_connect_timeout_s=2, stats_interval_s=1)
    try:
        publisher = start_streaming(proc, broker, topic_root, database_url)
        db_link.freeze()
        frozen_at = time.monotonic()
        time.sleep(0.5)      # acks of a batch whose commit answer arrived just before the freeze may still go out
        rows_frozen, acked_bytes = count_rows(database_url), mqtt_link.bytes_up

        # over a working link, the frozen ingest's stats row is flagged stale (it reports every second)
        stale_s, row = wait_until(lambda: _stale_after(database_url, frozen_at), timeout=10)
        assert 3 < row["age_s"] < 5
        # `qingzhi status` over the frozen link answers within its timeout instead of hanging
        took, answer = status_within(frozen_url)
        assert answer == f"database {frozen_url} not answering (no reply within {HEALTH_S:g} s)"
        assert took < HEALTH_S + 0.5
        cli = subprocess.run([sys.executable, "-m", "qingzhi", "status", "--database-url", frozen_url], cwd=REPO,
                             capture_output=True, text=True, timeout=30)
        assert cli.returncode == 2 and "not answering (no reply within 3 s)" in cli.stderr
        # the writer gives up on its silent connection after its command timeout (4 s)
        wait_until(lambda: "database unreachable (TimeoutError" in proc.log(), timeout=10)
        assert publisher.is_alive(), "the stream should run on through the freeze"

        time.sleep(max(0.0, frozen_at + FREEZE_S - time.monotonic()))
        # a keep-alive PINGREQ (2 bytes) at most: one PUBACK is 4 bytes, a batch's thousands
        assert mqtt_link.bytes_up - acked_bytes <= 2
        assert count_rows(database_url) == rows_frozen
        db_link.resume()
        recovery_s = finish(proc, publisher, database_url, rows_frozen)
    finally:
        proc.kill()
    assert count_rows(database_url) == N
    assert query(database_url, "SELECT count(DISTINCT unit) FROM positions")[0][0] == 100
    log = proc.log()
    assert "not acknowledging" in log and log.index("database unreachable") < log.rindex("database connection ok")
    print(f"freeze: status said 'not answering' in {took:.1f} s, the row was stale after {stale_s:.1f} s; "
          f"stored again {recovery_s:.1f} s after the database came back")


def _stale_after(url: str, since: float) -> tuple[float, dict] | None:
    _, rows = status_within(url)
    assert isinstance(rows, list) and len(rows) == 1
    return (time.monotonic() - since, rows[0]) if rows[0]["stale"] else None


def test_network_cut_to_the_broker_mid_stream_loses_nothing(
        database_url: str, topic_root: str, broker: Mosquitto, tmp_path: Path, proxies: list[TcpProxy]) -> None:
    link = proxy(proxies, broker.url)
    proc = ingest_process(tmp_path, "cut", database_url, link.url(broker.url), topic_root)
    try:
        publisher = start_streaming(proc, broker, topic_root, database_url)   # devices still reach the broker
        link.cut()
        cut_at = time.monotonic()
        wait_until(lambda: "disconnected from" in proc.log(), timeout=10)
        time.sleep(max(0.0, cut_at + CUT_S - time.monotonic()))
        assert publisher.is_alive(), "the stream should run on through the cut"
        rows_cut = count_rows(database_url)
        assert rows_cut < N
        assert "cannot reach mqtt://127.0.0.1" in proc.log()      # each refused reconnect is logged
        link.restore()
        recovery_s = finish(proc, publisher, database_url, rows_cut)
    finally:
        proc.kill()
    assert count_rows(database_url) == N
    log = proc.log()
    assert log.count("session present: True") >= 1
    assert log.index("disconnected from") < log.rindex("session present: True")
    print(f"cut: stored again {recovery_s:.1f} s after the link came back")


def _get(url: str, timeout: float = 30, headers: dict[str, str] | None = None) -> tuple[int, dict, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    return status, json.loads(body), time.monotonic() - started


def test_dashboard_answers_fast_while_the_database_is_frozen_and_recovers(
        database_url: str, tmp_path: Path, proxies: list[TcpProxy]) -> None:
    link = proxy(proxies, database_url)
    with dashboard_process(tmp_path / "dash.log", database_url=link.url(database_url), dashboard_db_timeout_s=4,
                           health_timeout_s=2) as base:
        assert _get(f"{base}/health")[:2] == (200, {"status": "ok"})
        wall = {"Cookie": session_cookie(database_url, make_user(database_url, "wall"))}   # data needs a login
        assert _get(f"{base}/api/live/units", headers=wall)[0] == 200
        link.freeze()
        status, body, took = _get(f"{base}/health")
        assert (status, body) == (503, {"status": "unavailable",
                                        "reason": "database not answering (no reply within 2 s)"})
        assert took < 2 + 1
        with ThreadPoolExecutor(12) as pool:   # more requests than the pool has connections (8)
            answers = list(pool.map(lambda _: _get(f"{base}/api/live/units", headers=wall), range(12)))
        assert {a[0] for a in answers} == {503}
        assert all(a[1]["error"] == "database not answering" for a in answers)     # and no host named
        assert max(a[2] for a in answers) < 2 * 4 + 2    # a request waits at most its own timeout (+ a free thread)
        link.resume()
        resumed_at = time.monotonic()
        wait_until(lambda: _get(f"{base}/health")[0] == 200, timeout=30, every=0.2)
        recovery_s = time.monotonic() - resumed_at
        with ThreadPoolExecutor(12) as pool:   # the pool gave every connection back
            assert {a[0] for a in pool.map(lambda _: _get(f"{base}/api/live/units", headers=wall), range(24))} == {200}
    print(f"dashboard: /health 503 in {took:.1f} s; data requests 503 in ≤ {max(a[2] for a in answers):.1f} s; "
          f"healthy {recovery_s:.1f} s after the database came back")
