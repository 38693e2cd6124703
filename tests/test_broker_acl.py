"""The closed broker as shipped: a real Mosquitto with deploy/mosquitto.conf, the shipped ACL and a
password file made by `qingzhi broker`. Mosquitto drops a publish its ACL denies (an MQTT v5 client
is told so in its PUBACK, a 3.1.1 client is not), so each test counts what a subscriber with the
right to read receives, up to a sentinel published last on the same connection: messages from one
publisher arrive in order, so anything let through would have arrived before it."""

from __future__ import annotations

import datetime as dt
import json
import queue
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.services import IngestProcess, Mosquitto
from dashboard import commands
from dashboard.dispatch import queries as dispatch
from dispatch_fixtures import CENTER, app_context, run_db, seed_incident
from ingest_helpers import count_rows, query, wait_until
from qingzhi.broker_accounts import DEVICE_TOPICS
from qingzhi.config import Settings, load_settings
from qingzhi.core.dispatch_config import DispatchConfig
from qingzhi.embedded import EmbeddedBroker
from qingzhi.errors import QingzhiError
from qingzhi.mqtt import connect_blocking, make_client
from test_cli import qingzhi
from test_dispatch_loop import DESK, district  # noqa: F401 (district: a fixture, station S1 and unit C01)

pytestmark = pytest.mark.slow
ROOT = "qz/v1"  # the shipped ACL's topic root (this broker is the test's own)
NOT_AUTHORIZED = 135


def accounts_made_by_qingzhi(pwfile: Path) -> dict[str, str]:
    """Service and device accounts through the real command; {login: password}."""
    made: dict[str, str] = {}
    for args in (("services", "ingest", "dashboard", "callcenter"),
                 ("devices", "--station", "S1", "--unit", "C01", "--unit", "C02"),
                 ("devices", "--station", "S2", "--unit", "C01")):
        out = qingzhi("broker", args[0], str(pwfile), *args[1:])
        assert out.returncode == 0, out.stderr
        made.update(line.split(" ", 1) for line in out.stdout.splitlines())
    return made


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    pwfile = tmp_path_factory.mktemp("accounts") / "passwd"
    return pwfile, accounts_made_by_qingzhi(pwfile)


@pytest.fixture(scope="module")
def broker(accounts: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    mosquitto = Mosquitto(tmp_path_factory.mktemp("closed"), password_file=accounts[0]).start()
    yield mosquitto
    mosquitto.stop()


def settings_for(broker: Mosquitto, login: str | None, password: str | None, **extra: str) -> Settings:
    """Settings logging in to the test broker as this account (anonymously for None)."""
    url = broker.url_for(login, password or "") if login else broker.url
    return load_settings(**{"mqtt_url": url, "topic_root": ROOT, **extra})


class Account:
    """An MQTT v5 client logged in with our own client code; it keeps what it receives and the
    reason code of every PUBACK."""

    def __init__(self, settings: Settings, subscribe: tuple[str, ...] = ()) -> None:
        self.client, target = make_client(settings, client_id=f"qz-acl-{uuid.uuid4().hex[:8]}", persistent=False)
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.acks: dict[int, int] = {}
        self.client.on_message = lambda c, u, m: self.received.put((m.topic, m.payload))
        self.client.on_publish = lambda c, u, mid, reason, props: self.acks.__setitem__(mid, reason.value)
        subscribed = queue.Queue()
        self.client.on_subscribe = lambda c, u, mid, reasons, props: subscribed.put(reasons)
        connect_blocking(self.client, target, settings, persistent=False)
        if subscribe:
            self.client.subscribe([(topic, 1) for topic in subscribe])
            subscribed.get(timeout=10)

    def publish(self, topic: str, payload: bytes) -> int:
        """Publish QoS 1 and wait for the PUBACK; its reason code (0 or 16 delivered, 135 refused)."""
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(10)
        return self.acks[info.mid]

    def until(self, payload: bytes, timeout: float = 10.0) -> list[tuple[str, bytes]]:
        """Everything received up to and including `payload`."""
        seen: list[tuple[str, bytes]] = []
        deadline = time.monotonic() + timeout
        while not seen or seen[-1][1] != payload:
            seen.append(self.received.get(timeout=max(0.01, deadline - time.monotonic())))
        return seen

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def login(broker: Mosquitto, accounts: tuple[Path, dict[str, str]]) -> Iterator:
    """login(name, subscribe=(...)) → a connected Account; all closed afterwards."""
    made: list[Account] = []

    def connect(name: str, subscribe: tuple[str, ...] = ()) -> Account:
        made.append(Account(settings_for(broker, name, accounts[1][name]), subscribe))
        return made[-1]

    yield connect
    for account in made:
        account.close()


def publish_all(publisher: Account, reader: Account, topics: list[str], sentinel: str) -> tuple[set[str], dict]:
    """Publish each topic (payload = its name), then a sentinel; (topics the reader got, PUBACK codes)."""
    codes = {topic: publisher.publish(topic, topic.encode()) for topic in topics}
    publisher.publish(sentinel, b"sentinel")
    return {topic for topic, payload in reader.until(b"sentinel") if payload != b"sentinel"}, codes


def test_anonymous_strangers_and_wrong_passwords_are_refused(broker: Mosquitto,
                                                             accounts: tuple[Path, dict[str, str]]) -> None:
    known = accounts[1]
    for login, password in ((None, None), ("S1/C01", "wrong-password-0000"), ("S1/C01", known["S1/C02"]),
                            ("S1/C09", known["S1/C01"]), ("admin", known["ingest"])):
        settings = settings_for(broker, login, password)
        client, target = make_client(settings, client_id=f"qz-acl-{uuid.uuid4().hex[:8]}", persistent=False)
        with pytest.raises(QingzhiError, match="refused the connection"):
            connect_blocking(client, target, settings, persistent=False)


def test_a_device_publishes_only_under_its_own_station_and_unit(login) -> None:
    reader = login("ingest", (f"{ROOT}/#", "owntracks/+/+"))
    device = login("S1/C01")
    own = [f"{ROOT}/S1/C01/{kind}" for kind in DEVICE_TOPICS] + ["owntracks/S1/C01"]
    others = [f"{ROOT}/S1/C02/gps", f"{ROOT}/S1/C02/status", f"{ROOT}/S2/C01/gps", f"{ROOT}/S2/C01/ack",
              f"{ROOT}/incidents", f"{ROOT}/S1/C01/cmd", f"{ROOT}/S1/C02/cmd", f"{ROOT}/S1/C01/gps/x", f"{ROOT}/S1/gps",
              "owntracks/S1/C02", "owntracks/S2/C01", "owntracks/S1/C01/event"]
    got, codes = publish_all(device, reader, others + own, sentinel=f"{ROOT}/S1/C01/ack")
    assert got == set(own)
    assert {codes[t] for t in others} == {NOT_AUTHORIZED} and NOT_AUTHORIZED not in {codes[t] for t in own}


def test_a_device_reads_only_its_own_commands(login) -> None:
    c01 = login("S1/C01", (f"{ROOT}/#", f"{ROOT}/+/+/cmd", f"{ROOT}/S1/C02/cmd", f"{ROOT}/S1/C01/cmd"))
    c02 = login("S1/C02", (f"{ROOT}/S1/C02/cmd",))
    same_sign_other_station = login("S2/C01", (f"{ROOT}/+/C01/cmd",))
    dashboard = login("dashboard")
    for topic in (f"{ROOT}/S1/C02/cmd", f"{ROOT}/S2/C01/cmd", f"{ROOT}/S1/C01/cmd"):  # C01 of S1 last
        assert dashboard.publish(topic, topic.encode()) != NOT_AUTHORIZED
    for account, own in ((c01, f"{ROOT}/S1/C01/cmd"), (c02, f"{ROOT}/S1/C02/cmd"),
                         (same_sign_other_station, f"{ROOT}/S2/C01/cmd")):
        assert {topic for topic, _ in account.until(own.encode())} == {own}
    time.sleep(0.5)  # later copies (one per overlapping subscription of C01) are its own command too
    assert {c01.received.get_nowait()[0] for _ in range(c01.received.qsize())} <= {f"{ROOT}/S1/C01/cmd"}


def test_services_keep_to_their_own_topics(login) -> None:
    reader = login("ingest", (f"{ROOT}/#", "owntracks/+/+"))
    forged = [f"{ROOT}/S1/C01/gps", f"{ROOT}/S1/C01/status", f"{ROOT}/incidents", "owntracks/S1/C01"]
    got, codes = publish_all(login("dashboard"), reader, forged, sentinel=f"{ROOT}/S1/C01/cmd")
    assert got == set() and set(codes.values()) == {NOT_AUTHORIZED}
    callcenter = login("callcenter")
    got, codes = publish_all(callcenter, reader, [f"{ROOT}/S1/C01/cmd", f"{ROOT}/S1/C01/status"],
                             sentinel=f"{ROOT}/incidents")
    assert got == set() and set(codes.values()) == {NOT_AUTHORIZED}
    assert reader.publish(f"{ROOT}/S1/C01/cmd", b"forged") == NOT_AUTHORIZED  # the ingest only reads

    eavesdropper = login("callcenter", (f"{ROOT}/#", "owntracks/+/+"))  # a service reads nothing it need not
    device = login("S1/C01")
    device.publish(f"{ROOT}/S1/C01/gps", b"fix")
    callcenter.publish(f"{ROOT}/incidents", b"call")
    reader.until(b"call")
    time.sleep(0.5)
    assert eavesdropper.received.empty()


def test_ingest_and_dashboard_work_end_to_end_with_their_accounts(
        broker: Mosquitto, accounts: tuple[Path, dict[str, str]], settings: Settings, district: None,
        login, tmp_path: Path) -> None:
    known, database_url = accounts[1], settings.database_url
    group = f"g{uuid.uuid4().hex[:6]}"  # as several ingests run: $share/<group>/… under the same ACL
    ingest = IngestProcess(tmp_path / "ingest.log", database_url=database_url, topic_root=ROOT, batch_ms=50,
                           mqtt_url=broker.url_for("ingest", known["ingest"]), share_group=group,
                           client_id=f"qz-acl-ing-{uuid.uuid4().hex[:6]}").start()
    dashboard = settings_for(broker, "dashboard", known["dashboard"], database_url=database_url)
    try:
        ingest.wait_connected()
        assert f"subscribed to $share/{group}/{ROOT}/#" in ingest.log()
        terminal = login("S1/C01", (f"{ROOT}/S1/C01/cmd",))
        now = int(time.time() * 1000)
        terminal.publish(f"{ROOT}/S1/C01/gps", json.dumps({"ts": now, "lat": 30.28, "lon": 120.16}).encode())
        terminal.publish(f"{ROOT}/S1/C02/gps", json.dumps({"ts": now, "lat": 30.29, "lon": 120.17}).encode())
        login("callcenter").publish(f"{ROOT}/incidents", json.dumps({
            "id": "110-ACL-1", "ts": now, "lat": CENTER[0], "lon": CENTER[1], "type": "dispute.family"}).encode())
        wait_until(lambda: query(database_url, "SELECT 1 FROM incidents WHERE id = '110-ACL-1'"))
        wait_until(lambda: count_rows(database_url) == 1)
        assert [tuple(r) for r in query(database_url, "SELECT station, unit FROM positions")] == [("S1", "C01")]

        with app_context(dashboard) as dash:  # the dashboard's own command publisher, on its own account
            cmd = commands.assign(dash, DESK, "110-ACL-1", "C01")
            topic, payload = terminal.received.get(timeout=10)
            assert topic == f"{ROOT}/S1/C01/cmd" and json.loads(payload)["id"] == cmd.id and cmd.published
            terminal.publish(f"{ROOT}/S1/C01/ack", json.dumps({"id": cmd.id, "ts": int(time.time() * 1000)}).encode())
            assert wait_until(lambda: dash.db.run(dispatch.queue, DispatchConfig(), now=dt.datetime.now(dt.UTC))[0]
                              ["ack"] == ["acked"])
        assert not query(database_url, "SELECT 1 FROM rejects")
    finally:
        assert ingest.stop() == 0


def test_a_command_the_acl_refuses_is_an_error_and_undone(
        broker: Mosquitto, accounts: tuple[Path, dict[str, str]], settings: Settings, district: None) -> None:
    """A dashboard whose topic root the ACL does not cover: Mosquitto acknowledges and drops the
    command; the dashboard must not show it as sent."""
    run_db(settings.database_url, seed_incident, "110-ACL-2")
    wrong_root = settings_for(broker, "dashboard", accounts[1]["dashboard"], database_url=settings.database_url,
                              topic_root="qz/v2")
    with app_context(wrong_root) as dash:
        with pytest.raises(QingzhiError, match="refused the command on qz/v2/S1/C01/cmd"):
            commands.assign(dash, DESK, "110-ACL-2", "C01")
    assert query(settings.database_url, "SELECT state FROM incidents WHERE id = '110-ACL-2'")[0][0] == "received"
    assert not query(settings.database_url, "SELECT 1 FROM commands")


def test_the_demo_broker_lets_in_only_its_accounts(amqtt: EmbeddedBroker) -> None:
    """amqtt (`qingzhi demo`): logins enforced; no topic ACL (see qingzhi/embedded.py for why)."""
    for login, password in ((None, None), ("ingest", "wrong-password-0000"), ("device", amqtt.passwords["ingest"]),
                            ("ingest", amqtt.passwords["simulator"])):
        url = f"mqtt://{login}:{password}@127.0.0.1:{amqtt.port}" if login else f"mqtt://127.0.0.1:{amqtt.port}"
        settings = load_settings(mqtt_url=url, mqtt_protocol="3.1.1")
        client, target = make_client(settings, client_id=f"qz-amqtt-{uuid.uuid4().hex[:8]}", persistent=False)
        with pytest.raises(QingzhiError, match="refused the connection"):
            connect_blocking(client, target, settings, persistent=False)
    for name in ("ingest", "dashboard", "simulator"):
        settings = load_settings(mqtt_url=amqtt.url_for(name), mqtt_protocol="3.1.1")
        client, target = make_client(settings, client_id=f"qz-amqtt-{uuid.uuid4().hex[:8]}", persistent=False)
        connect_blocking(client, target, settings, persistent=False)
        client.disconnect()
        client.loop_stop()
