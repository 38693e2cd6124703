"""`python -m qingzhi demo` as a user runs it: embedded services, /health, rows arriving, clean Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import asyncpg
import psutil
import pytest

from conftest import MQTT_URL
from demo_helpers import Running, data_dir, env_without_settings  # noqa: F401 (data_dir: a fixture)

from qingzhi.duties import CHORES
from qingzhi.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


class Demo(Running):
    """A `python -m qingzhi demo` subprocess (24 units, a day of history) with these QZ_* settings."""

    def __init__(self, data_dir: Path, port: int, *extra: str, **qz: str) -> None:
        super().__init__(
            [sys.executable, "-m", "qingzhi", "demo", "--units", "24", "--history", "1", "--port", str(port),
             "--data-dir", str(data_dir), *extra],
            cwd=ROOT, env=env_without_settings(**{f"QZ_{k.upper()}": v for k, v in qz.items()}))


def _query(data_dir: Path, sql: str):
    async def go():
        conn = await asyncpg.connect(f"postgresql://postgres:@/postgres?host={data_dir / 'pg'}")
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    return asyncio.run(go())


def _postmaster(data_dir: Path) -> psutil.Process:
    return psutil.Process(int((data_dir / "pg" / "postmaster.pid").read_text().split()[0]))


def printed_accounts(line: str) -> dict[str, str]:
    """{user: password} from the demo's accounts line."""
    listed = line.split(": ", 1)[1].split("  (", 1)[0]
    return dict(pair.split(" / ") for pair in listed.split(", "))


def logs_in(port: int, name: str, password: str) -> bool:
    """Whether /login accepts these credentials (as a browser posts the form)."""
    import requests

    from auth_helpers import form_csrf
    with requests.Session() as session:
        token = form_csrf(session.get(f"http://127.0.0.1:{port}/login", timeout=10).text)
        got = session.post(f"http://127.0.0.1:{port}/login", data={"username": name, "password": password, "csrf": token},
                           allow_redirects=False, timeout=10)
    return got.status_code == 303


def test_demo_runs_and_stops_cleanly_twice(data_dir: Path) -> None:
    port = free_port()
    demo = Demo(data_dir, port)
    logins = printed_accounts(demo.wait_for("accounts (user / password):"))
    line = demo.wait_for("qingzhi demo is running")
    assert f"http://127.0.0.1:{port}/" in line
    assert set(logins) == {"wall", "analyst", "commander", "admin"}
    assert logs_in(port, "commander", logins["commander"]) and not logs_in(port, "commander", "wrong password")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as resp:
        assert resp.status == 200
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
        assert resp.status == 200
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # live fixes come through broker and ingest (only the ingest sets fix_ts)
        located = _query(data_dir, "SELECT count(*) FROM units WHERE fix_ts IS NOT NULL AND kind <> 'unknown'")
        if located >= 22:  # all 24 but for a unit or two that may be out of coverage just now
            break
        time.sleep(0.5)
    assert located >= 22
    assert _query(data_dir, "SELECT count(*) FROM statuses WHERE recv_ts > now() - interval '1 minute'") >= 24
    assert _query(data_dir, "SELECT count(*) FROM rejects") == 0
    # real camera video for 4 units (ffmpeg), their stream_urls through broker and ingest (a camera may be in fault)
    assert "camera video: 4 live HLS streams" in "".join(demo.out)
    assert _query(data_dir, "SELECT count(*) FROM units WHERE cam_state = 'streaming'"
                            " AND stream_url ~ '^http://127[.]0[.]0[.]1:[0-9]+/[^/]+/index[.]m3u8$'") >= 3
    assert _query(data_dir, "SELECT count(*) FROM units WHERE stream_url LIKE 'rtsp:%'") == 0
    assert _query(data_dir, "SELECT count(*) FROM incidents WHERE source = 'simulator'") > 100
    assert _query(data_dir, "SELECT count(*) FROM duty_runs WHERE ok") == len(CHORES)  # the worker runs its rounds
    stations = _query(data_dir, "SELECT count(*) FROM stations")
    family = demo.family() + [_postmaster(data_dir)]
    assert len(family) >= 5  # demo, ingest, worker, dashboard, postgres (and its workers)

    demo.proc.send_signal(signal.SIGINT)
    assert demo.proc.wait(60) == 0, "".join(demo.out + demo.err)
    assert "Traceback" not in "".join(demo.err) and "demo stopped" in "".join(demo.out)
    gone, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, alive

    # a second demo reuses the data directory: same district, no duplicate reference data, SIGTERM also stops it
    again = Demo(data_dir, port)
    assert printed_accounts(again.wait_for("accounts (user / password):")) == logins   # kept in the data directory
    again.wait_for("qingzhi demo is running")
    assert _query(data_dir, "SELECT count(*) FROM stations") == stations
    assert _query(data_dir, "SELECT count(*) FROM units") == 24
    family = again.family() + [_postmaster(data_dir)]
    again.proc.send_signal(signal.SIGTERM)
    assert again.proc.wait(60) == 0, "".join(again.out + again.err)
    assert not psutil.wait_procs(family, timeout=10)[1]


def test_demo_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        out = subprocess.run([sys.executable, "-m", "qingzhi", "demo", "--port", str(s.getsockname()[1]),
                              "--data-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.startswith("qingzhi: error: port") and "Traceback" not in out.stderr


def test_demo_uses_configured_services(data_dir: Path, database_url: str, topic_root: str) -> None:
    """With QZ_DATABASE_URL and QZ_MQTT_URL set, nothing embedded starts: the demo runs on those."""
    port = free_port()
    demo = Demo(data_dir, port, database_url=database_url, mqtt_url=MQTT_URL, topic_root=topic_root,
                client_id=f"qz-demo-test-{os.getpid()}")
    demo.wait_for("qingzhi demo is running")
    try:
        async def located() -> int:
            conn = await asyncpg.connect(database_url)
            try:
                return await conn.fetchval("SELECT count(*) FROM units WHERE fix_ts IS NOT NULL")
            finally:
                await conn.close()

        deadline = time.monotonic() + 30
        while asyncio.run(located()) < 20 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert asyncio.run(located()) >= 20
    finally:
        demo.proc.send_signal(signal.SIGINT)
        assert demo.proc.wait(60) == 0, "".join(demo.out + demo.err)
    out = "".join(demo.out)
    assert "embedded" not in out and not (data_dir / "pg").exists()
