"""Shared fixtures: a fresh migrated PostgreSQL database, a unique MQTT topic root, Chromium (started ahead).

Tests talk to the real services of this machine (PostgreSQL on 127.0.0.1:5432, Mosquitto on
127.0.0.1:1883); QZ_TEST_PG_URL / QZ_TEST_MQTT_URL point them elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from selenium.webdriver.chrome.options import Options

from bench.services import Mosquitto
from dash.testing.composite import DashComposite
from spare_chromium import SpareChromium
from qingzhi.config import Settings, load_settings
from qingzhi.db import migrate_url
from qingzhi.embedded import EmbeddedBroker, free_port

PG_ADMIN_URL = os.environ.get("QZ_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MQTT_URL = os.environ.get("QZ_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
TEMPLATE_DB = f"qz_tpl_{os.getpid()}"
# Services refuse to start without a caller key: every setting and child process of the tests gets this one.
os.environ.setdefault("QZ_CALLER_KEY", "tests-only-caller-key-0123456789")


def db_url(name: str) -> str:
    """The admin URL pointed at database `name`."""
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class SparePool:
    """Copies of a template made one ahead, and used ones dropped, on a thread of their own: a test's
    CREATE DATABASE (~0.2 s) and DROP overlap the test before it instead of adding to its time."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.jobs: queue.Queue[tuple[str, str]] = queue.Queue()
        self.spares: queue.Queue[str | BaseException] = queue.Queue()
        self.thread = threading.Thread(target=self._work, name="qz-spare-databases", daemon=True)
        self.thread.start()
        self.jobs.put(("create", ""))

    def _work(self) -> None:
        while (job := self.jobs.get())[0] != "stop":
            kind, name = job
            try:
                if kind == "create":
                    name = f"qz_t_{uuid.uuid4().hex[:12]}"
                    asyncio.run(_admin(f"CREATE DATABASE {name} TEMPLATE {self.template}"))
                    self.spares.put(name)
                else:
                    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            except BaseException as exc:  # noqa: BLE001 - a failed copy fails the test that takes it
                if kind == "create":
                    self.spares.put(exc)

    def take(self) -> str:
        """A fresh copy of the template, never given out before; the next one starts being made."""
        self.jobs.put(("create", ""))
        got = self.spares.get()
        if isinstance(got, BaseException):
            raise got
        return got

    def give_back(self, name: str) -> None:
        self.jobs.put(("drop", name))

    def close(self) -> None:
        """Finish every drop, then drop the spares not taken."""
        self.jobs.put(("stop", ""))
        self.thread.join()
        while not self.spares.empty():
            if isinstance(name := self.spares.get(), str):
                asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


_pools: dict[str, SparePool] = {}


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    """A migrated database that each test's database is copied from (copying is fast)."""
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}"))
    asyncio.run(_admin(f"CREATE DATABASE {TEMPLATE_DB}"))
    asyncio.run(migrate_url(db_url(TEMPLATE_DB)))
    _pools[TEMPLATE_DB] = SparePool(TEMPLATE_DB)
    yield TEMPLATE_DB
    _pools.pop(TEMPLATE_DB).close()
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {TEMPLATE_DB} WITH (FORCE)"))


def fresh_database(template_db: str) -> Iterator[str]:
    """A fresh, migrated database copied from the template; dropped afterwards."""
    pool = _pools[template_db]
    name = pool.take()
    yield db_url(name)
    pool.give_back(name)


@pytest.fixture
def database_url(template_db: str) -> Iterator[str]:
    """A fresh, migrated database of this test's own; dropped afterwards."""
    yield from fresh_database(template_db)


@pytest.fixture
def amqtt() -> Iterator[EmbeddedBroker]:
    """The embedded MQTT broker of `qingzhi demo` (amqtt, MQTT 3.1.1) on a free port of its own."""
    broker = EmbeddedBroker(free_port())
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A Mosquitto of this test module's own, configured from deploy/mosquitto.conf (persistence, no queue cap)."""
    mosquitto = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def topic_root() -> str:
    """A topic root no other test (or process on this broker) uses."""
    return f"qztest/{uuid.uuid4().hex[:10]}/v1"


@pytest.fixture
def settings(database_url: str, topic_root: str) -> Settings:
    """Settings pointing at this test's database, the machine's broker and a unique topic root."""
    return load_settings(
        database_url=database_url,
        mqtt_url=MQTT_URL,
        topic_root=topic_root,
        client_id=f"qz-test-{uuid.uuid4().hex[:8]}",
    )


def pytest_setup_options() -> Options:
    """dash[testing] hook: Debian's Chromium, headless, with the flags this closed network needs."""
    options = Options()
    options.binary_location = os.environ.get("QZ_CHROMIUM", "/usr/bin/chromium")
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--window-size=1600,1000",
    ):
        options.add_argument(flag)
    return options


@pytest.fixture(scope="session")
def spare_chromium(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpareChromium]:
    """Chromium made one test ahead, with the options dash's fixtures would give it."""
    config = request.config

    def make() -> DashComposite:
        return DashComposite(
            server=None, browser=config.getoption("webdriver"), remote=config.getoption("remote"),
            remote_url=config.getoption("remote_url"), headless=config.getoption("headless"),
            options=config.hook.pytest_setup_options(), download_path=str(tmp_path_factory.mktemp("download")),
            percy_assets_root=config.getoption("percy_assets"), percy_finalize=config.getoption("nopercyfinalize"),
            pause=config.getoption("pause"))

    spare = SpareChromium(make)
    yield spare
    spare.close()


@pytest.fixture
def dash_br(spare_chromium: SpareChromium) -> Iterator[DashComposite]:
    """dash's `dash_br`: a Chromium of this test's own (started ahead), quit at its end."""
    with spare_chromium.take() as browser:
        yield browser


@pytest.fixture
def dash_duo(spare_chromium: SpareChromium, dash_thread_server: Any) -> Iterator[DashComposite]:
    """dash's `dash_duo`: the same, with a threaded server for the test's app."""
    with spare_chromium.take(dash_thread_server) as browser:
        yield browser
