"""`python -m qingzhi demo` as a user runs it: embedded services, /health, rows arriving, clean Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import asyncpg
import psutil
import pytest

from conftest import MQTT_URL

from qingzhi.duties import CHORES
from qingzhi.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


class Demo:
    """A `qingzhi demo` subprocess whose output lines are collected as they come."""

    def __init__(self, data_dir: Path, port: int, *extra: str, **qz: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QZ_")}
        env.update({f"QZ_{k.upper()}": v for k, v in qz.items()})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "qingzhi", "demo", "--units", "24", "--history", "1", "--port", str(port),
             "--data-dir", str(data_dir), *extra],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True).start()

    def _read(self, stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.proc.poll() is None, "".join(self.out + self.err)
                continue
            if text in line:
                return line
        raise AssertionError(f"no {text!r} in:\n{''.join(self.out + self.err)}")

    def family(self) -> list[psutil.Process]:
        """The demo process, its children and grandchildren."""
        me = psutil.Process(self.proc.pid)
        return [me, *me.children(recursive=True)]


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


@pytest.fixture
def data_dir():
    """A data directory outside pytest's tmp root: pytest resets that root to mode 0700 (even from other
    sessions running at the same time), which locks out the `pgserver` user PostgreSQL runs as under root."""
    folder = Path(tempfile.mkdtemp(prefix="qz-demo-", dir="/tmp"))
    yield folder / "data"
    shutil.rmtree(folder, ignore_errors=True)


def test_demo_runs_and_stops_cleanly_twice(data_dir: Path) -> None:
    port = free_port()
    demo = Demo(data_dir, port)
    line = demo.wait_for("qingzhi demo is running")
    assert f"http://127.0.0.1:{port}/" in line
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
