"""Throw-away services for benchmarks and tests: a Mosquitto with the repository's settings,
an ingest process, free ports. Everything started here is stopped by its owner."""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import asyncpg

from qingzhi.embedded import free_port

REPO = Path(__file__).resolve().parent.parent
MOSQUITTO = os.environ.get("QZ_MOSQUITTO", "/usr/sbin/mosquitto")
PG_ADMIN = os.environ.get("QZ_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Services refuse to start without a caller key; benchmarks hash only simulated callers' numbers.
CALLER_KEY = os.environ.get("QZ_CALLER_KEY", "bench-throwaway-caller-key")


def db_url(name: str) -> str:
    """The admin URL pointed at database `name`."""
    return f"{PG_ADMIN.rpartition('/')[0]}/{name}"


def admin_sql(sql: str) -> None:
    """Run one statement (CREATE / DROP DATABASE …) on the admin connection."""

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new empty database on the machine's PostgreSQL for one benchmark run (its URL), dropped after."""
    name = f"{prefix}_{os.getpid()}"
    admin_sql(f"CREATE DATABASE {name}")
    try:
        yield db_url(name)
    finally:
        admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def wait_port(port: int, timeout: float = 10.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@dataclass(frozen=True)
class BrokerTls:
    """TLS for a test broker's listener: its CA, certificate and key; client certificates required."""

    ca: Path
    cert: Path
    key: Path


class Mosquitto:
    """A Mosquitto on a free port, configured from deploy/mosquitto.conf (persistence in `data_dir`).

    Closed as shipped when given a password file (and the shipped ACL, or `acl_file`); without one it
    lets anyone in, for tests and benchmarks of other things than access. `tls` makes the listener TLS.
    """

    def __init__(self, data_dir: Path, port: int | None = None, *, password_file: Path | None = None,
                 acl_file: Path | None = None, tls: BrokerTls | None = None):
        self.port = port or free_port()
        self.data_dir = data_dir
        self.tls = tls
        data_dir.mkdir(parents=True, exist_ok=True)
        conf = (REPO / "deploy" / "mosquitto.conf").read_text()
        listener = f"listener {self.port} 127.0.0.1"
        if tls:
            listener += (f"\ncafile {tls.ca}\ncertfile {tls.cert}\nkeyfile {tls.key}\nrequire_certificate true")
        conf = re.sub(r"(?m)^listener 1883$", lambda _: listener, conf)
        if password_file:
            conf = re.sub(r"(?m)^password_file .*$", f"password_file {password_file}", conf)
            conf = re.sub(r"(?m)^acl_file .*$", f"acl_file {acl_file or REPO / 'deploy' / 'mosquitto.acl'}", conf)
        else:
            conf = re.sub(r"(?m)^(password_file|acl_file) .*$", "", conf)
            conf = re.sub(r"(?m)^allow_anonymous false$", "allow_anonymous true", conf)
        conf = re.sub(r"(?m)^persistence_location .*$", f"persistence_location {data_dir}/", conf)
        conf = re.sub(r"(?m)^log_dest .*$", f"log_dest file {data_dir}/mosquitto.log", conf)
        # Started as root, Mosquitto switches to user `mosquitto`, which cannot write into our
        # private temp dirs (no persistence file, no log): stay the user we are.
        conf += f"\nuser {pwd.getpwuid(os.geteuid()).pw_name}\n"
        self.conf_path = data_dir / "mosquitto.conf"
        self.conf_path.write_text(conf)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """mqtt://127.0.0.1:<port> (mqtts:// with TLS)"""
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    def url_for(self, user: str, password: str) -> str:
        """The URL with an account's credentials."""
        return self.url.replace("://", f"://{quote(user, safe='')}:{quote(password, safe='')}@", 1)

    def start(self) -> "Mosquitto":
        """Start it and wait for the port."""
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf_path)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port)
        return self

    def stop(self) -> None:
        """SIGTERM (it saves its persistence file) and wait."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class IngestProcess:
    """`python -m qingzhi ingest` from this repository, with its output in a log file."""

    def __init__(self, log_path: Path, **settings: str | int):
        self.env = {**os.environ, "QZ_CALLER_KEY": CALLER_KEY, **{f"QZ_{k.upper()}": str(v) for k, v in settings.items()}}
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> "IngestProcess":
        """Start it (output appended to the log)."""
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "qingzhi", "ingest"], cwd=REPO, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def wait_connected(self, timeout: float = 30.0, line: str = "subscribed to") -> None:
        """Wait until the log says it subscribed (or `line`), or fail with the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if line in self.log():
                return
            if self.proc and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"ingest did not connect:\n{self.log()[-3000:]}")

    def log(self) -> str:
        """Its output so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no flush, no ack, no goodbye."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for the clean exit; its exit status."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


@contextmanager
def dashboard_process(log_path: Path, *, port: int | None = None, **settings: object) -> Iterator[str]:
    """`python -m qingzhi dashboard` from this repository (settings as QZ_* variables), as it runs in
    production; yields its base URL once /health answers and stops it on leaving."""
    port = port or free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "QZ_CALLER_KEY": CALLER_KEY,
           **{f"QZ_{k.upper()}": str(v) for k, v in settings.items()}}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "qingzhi", "dashboard", "--port", str(port)],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}/health", timeout=2).status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dashboard did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)
