"""`qingzhi demo`: the whole system on one machine with one command.

Where no database / broker is configured it starts an embedded PostgreSQL and an embedded
MQTT broker (see embedded.py), then: migrations, reference data and a history back-fill, the
ingest, the duty-loop worker and the dashboard (each its own process, logs in <data-dir>/logs/),
and the live fleet simulator in this process. Ctrl-C (or SIGTERM) stops everything, children first.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from qingzhi import demo_accounts, demo_grids
from qingzhi.config import CALLER_KEY_MIN, Settings
from qingzhi.embedded import ACCOUNTS, EmbeddedBroker, free_port, start_postgres
from qingzhi.errors import QingzhiError

log = logging.getLogger("qingzhi.demo")
SEED = 1              # the same district every time, so a second demo reuses the reference data
STARTUP_TIMEOUT_S = 90.0
VIDEO_UNITS = 4       # units whose cameras stream real ffmpeg video (if ffmpeg is installed)


def default_data_dir() -> Path:
    """Per-user data directory; for root /var/lib/qingzhi (pgserver would otherwise open up /root to its user)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/qingzhi")
    import platformdirs

    return Path(platformdirs.user_data_dir("qingzhi"))


def demo_caller_key(folder: Path) -> str:
    """The demo's caller key: random, made once per data directory and kept there (`caller.key`, owner
    only), so that callers' hashes stay comparable from one demo run to the next."""
    path = folder / "caller.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < CALLER_KEY_MIN:
            raise QingzhiError(f"{path} is damaged (shorter than {CALLER_KEY_MIN} characters): remove it, and the "
                               "demo makes a new one (the callers already stored no longer match theirs)") from None
        return key
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment for a child `qingzhi` process: these settings as QZ_* variables, but for the
    broker URL (the simulator's login): a child that talks MQTT gets its own in `extra`. Defaults are
    left to the child (a default handed over counts as set: QZ_TILES_MBTILES with the default tile URL
    beside it would be refused as two tile sources)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QZ_")}
    for name, value in settings.model_dump(exclude_defaults=True).items():
        if value is not None and name != "mqtt_url":
            env[f"QZ_{name.upper()}"] = str(value)
    env.update(extra)
    return env


class Children:
    """Child processes of the demo: started in their own session (Ctrl-C reaches only us), stopped by us."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        """Start `python -m qingzhi <args>` with its output appended to <name>.log."""
        out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen([sys.executable, "-m", "qingzhi", *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        self.procs[name] = proc
        return proc

    def dead(self) -> str | None:
        """The name of a child that has exited, if any."""
        return next((n for n, p in self.procs.items() if p.poll() is not None), None)

    def log_tail(self, name: str, lines: int = 15) -> str:
        """The last lines of a child's log, for an error message."""
        text = (self.log_dir / f"{name}.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM every child (the ingest flushes what it holds), then SIGKILL what is left."""
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in self.procs.values():
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def wait_healthy(url: str, children: Children, name: str, stop: threading.Event) -> None:
    """Wait until url answers 200, or fail with the child's log if it exits first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline and not stop.is_set():
        if children.procs[name].poll() is not None:
            raise QingzhiError(f"the {name} exited during start-up:\n{children.log_tail(name)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    if not stop.is_set():
        raise QingzhiError(f"the {name} did not answer {url} within {STARTUP_TIMEOUT_S:.0f} s")


def run(settings: Settings, units: int, history_days: int, port: int, data_dir: str | None) -> None:
    """The `demo` command: start what is missing, then everything else; run until Ctrl-C."""
    from qingzhi.simulator.live import Simulation
    from qingzhi.simulator.run import camera_video, prepare, stop_on_signals, store, working

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    folder = Path(data_dir or settings.data_dir or default_data_dir())
    try:
        (folder / "logs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise QingzhiError(f"cannot use {folder} as the data directory: {exc.strerror or exc}") from None
    if free_port(port) != port:
        raise QingzhiError(f"port {port} is in use: pass --port")
    with stop_on_signals() as stop, ExitStack() as stack:
        updates = {"data_dir": str(folder), "caller_key": settings.caller_key or demo_caller_key(folder)}
        if not settings.database_url:
            server = stack.enter_context(start_postgres(folder))  # stopped last, after its clients
            updates["database_url"] = server.get_uri()
            print(f"embedded PostgreSQL: data in {folder / 'pg'}", flush=True)
        if not settings.mqtt_url:
            broker = EmbeddedBroker(free_port(1883))
            broker.start()
            stack.callback(broker.stop)
            urls = {name: broker.url_for(name) for name in ACCOUNTS}  # each component its own account
            updates.update(mqtt_protocol="3.1.1")
            print(f"embedded MQTT broker (amqtt): mqtt://127.0.0.1:{broker.port}", flush=True)
        else:
            urls = dict.fromkeys(ACCOUNTS, settings.mqtt_url)
        settings = settings.model_copy(update={**updates, "mqtt_url": urls["simulator"]})

        started = time.monotonic()
        district, specs = prepare(settings, units=units, stations=4, seed=SEED, roads=None)
        counts = store(settings, district, specs, history_days=history_days, seed=SEED)
        if counts is not None:
            print(f"history: {counts.incidents} incidents, {counts.positions} positions back-filled "
                  f"in {time.monotonic() - started:.1f} s", flush=True)

        logins = demo_accounts.ensure(settings.database_url, folder)
        print(f"community grids: {demo_grids.ensure(settings.database_url)} loaded", flush=True)
        children = Children(folder / "logs")
        stack.callback(children.stop)
        failed = None
        if not stop.is_set():  # (Ctrl-C during the back-fill: stop here)
            children.start("ingest", ["ingest"], child_env(
                settings, QZ_CLIENT_ID=settings.client_id or "qz-demo-ingest", QZ_MQTT_URL=urls["ingest"]))
            children.start("worker", ["worker"], child_env(settings))
            children.start("dashboard", ["dashboard", "--host", "127.0.0.1", "--port", str(port)],
                           child_env(settings, QZ_MQTT_URL=urls["dashboard"]))
            wait_healthy(f"http://127.0.0.1:{port}/health", children, "dashboard", stop)
        if not stop.is_set():
            farm = camera_video(stack, specs, VIDEO_UNITS, port=free_port(8888), folder=folder / "video",
                                tz=settings.timezone)
            sim = Simulation(settings, district, specs, rate=3.0, speedup=1.0, incidents_per_hour=12.0, seed=SEED,
                             working=working(settings), video=farm.urls() if farm else None)
            threading.Thread(target=_watch, args=(children, stop), daemon=True).start()
            print("accounts (user / password): " + ", ".join(f"{u} / {p}" for u, p in logins.items())
                  + f"  (kept in {folder / demo_accounts.FILE})", flush=True)
            print(f"qingzhi demo is running: open http://127.0.0.1:{port}/  "
                  f"({len(specs)} units; logs in {folder / 'logs'}; Ctrl-C stops)", flush=True)
            sim.run(stop)  # the simulator stops first, so the ingest can take in all it sent
            failed = children.dead()
        print("stopping…", flush=True)
    if failed:
        raise QingzhiError(f"the {failed} stopped unexpectedly; see {folder / 'logs' / (failed + '.log')}")
    print("demo stopped", flush=True)


def _watch(children: Children, stop: threading.Event) -> None:
    """Stop the demo if a child process dies."""
    while not stop.wait(1.0):
        if children.dead():
            stop.set()
