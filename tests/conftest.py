"""Shared fixtures: a fresh migrated PostgreSQL database, a unique MQTT topic root, Chromium.

Tests talk to the real services of this machine (PostgreSQL on 127.0.0.1:5432, Mosquitto on
127.0.0.1:1883); QZ_TEST_PG_URL / QZ_TEST_MQTT_URL point them elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from selenium.webdriver.chrome.options import Options

from bench.services import Mosquitto
from qingzhi.config import Settings, load_settings
from qingzhi.db import migrate_url
from qingzhi.embedded import EmbeddedBroker, free_port

PG_ADMIN_URL = os.environ.get("QZ_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MQTT_URL = os.environ.get("QZ_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
TEMPLATE_DB = f"qz_tpl_{os.getpid()}"


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


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    """A migrated database that each test's database is copied from (copying is fast)."""
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}"))
    asyncio.run(_admin(f"CREATE DATABASE {TEMPLATE_DB}"))
    asyncio.run(migrate_url(db_url(TEMPLATE_DB)))
    yield TEMPLATE_DB
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {TEMPLATE_DB} WITH (FORCE)"))


def fresh_database(template_db: str) -> Iterator[str]:
    """A fresh, migrated database copied from the template; dropped afterwards."""
    name = f"qz_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f"CREATE DATABASE {name} TEMPLATE {template_db}"))
    yield db_url(name)
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


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
