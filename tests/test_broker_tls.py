"""MQTT over TLS with a private CA (made by deploy/certs.sh with openssl) on a real Mosquitto that
requires client certificates, on top of the shipped ACL and accounts: the ingest connects with its
certificate and stores a device's fix; without one, with one from another CA, or without the CA
that signed the broker's, it is refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from ingest_helpers import count_rows, query, wait_until
from test_broker_acl import accounts_made_by_qingzhi
from test_cli import qingzhi

from bench.services import BrokerTls, IngestProcess, Mosquitto
from qingzhi.config import load_settings
from qingzhi.mqtt import connect_blocking, make_client

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
ROOT = "qz/v1"


def certs(*args: str) -> None:
    """Run deploy/certs.sh as the README says."""
    out = subprocess.run([str(REPO / "deploy" / "certs.sh"), *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ours, rogue = tmp_path_factory.mktemp("pki"), tmp_path_factory.mktemp("rogue")
    certs("ca", str(ours))
    certs("server", str(ours), "broker", "localhost", "127.0.0.1")
    for name in ("ingest", "S1-C01"):
        certs("client", str(ours), name)
    certs("ca", str(rogue))
    certs("client", str(rogue), "ingest")
    assert oct(os.stat(ours / "ingest.key").st_mode & 0o777) == "0o600"
    (ours / "rogue-ingest.crt").write_bytes((rogue / "ingest.crt").read_bytes())
    (ours / "rogue-ingest.key").write_bytes((rogue / "ingest.key").read_bytes())
    return ours


@pytest.fixture(scope="module")
def tls_broker(pki: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mosquitto, dict[str, str]]]:
    pwfile = tmp_path_factory.mktemp("tls-accounts") / "passwd"
    made = accounts_made_by_qingzhi(pwfile)
    mosquitto = Mosquitto(tmp_path_factory.mktemp("tls"), password_file=pwfile,
                          tls=BrokerTls(pki / "ca.crt", pki / "broker.crt", pki / "broker.key")).start()
    yield mosquitto, made
    mosquitto.stop()


def test_ingest_connects_with_its_certificate_and_stores_a_fix(
        tls_broker: tuple[Mosquitto, dict[str, str]], pki: Path, database_url: str, tmp_path: Path) -> None:
    broker, known = tls_broker
    assert broker.url.startswith("mqtts://")
    ingest = IngestProcess(tmp_path / "ingest.log", database_url=database_url, topic_root=ROOT, batch_ms=50,
                           mqtt_url=broker.url_for("ingest", known["ingest"]), mqtt_ca=pki / "ca.crt",
                           mqtt_cert=pki / "ingest.crt", mqtt_key=pki / "ingest.key",
                           client_id=f"qz-tls-{uuid.uuid4().hex[:6]}").start()
    try:
        ingest.wait_connected()
        device = load_settings(mqtt_url=broker.url_for("S1/C01", known["S1/C01"]), topic_root=ROOT,
                               mqtt_ca=str(pki / "ca.crt"), mqtt_cert=str(pki / "S1-C01.crt"),
                               mqtt_key=str(pki / "S1-C01.key"))
        client, target = make_client(device, client_id=f"qz-tls-dev-{uuid.uuid4().hex[:6]}", persistent=False)
        connect_blocking(client, target, device, persistent=False)
        fix = {"ts": int(time.time() * 1000), "lat": 30.28, "lon": 120.16}
        client.publish(f"{ROOT}/S1/C01/gps", json.dumps(fix), qos=1).wait_for_publish(10)
        client.disconnect()
        client.loop_stop()
        wait_until(lambda: count_rows(database_url) == 1)
        assert [tuple(r) for r in query(database_url, "SELECT station, unit FROM positions")] == [("S1", "C01")]
    finally:
        assert ingest.stop() == 0


@pytest.mark.parametrize(("files", "why"), [
    ({"QZ_MQTT_CA": "ca.crt"}, "closed the connection before accepting it"),  # no client certificate
    ({"QZ_MQTT_CA": "ca.crt", "QZ_MQTT_CERT": "rogue-ingest.crt", "QZ_MQTT_KEY": "rogue-ingest.key"},
     "closed the connection before accepting it"),  # a certificate from another CA
    ({"QZ_MQTT_CERT": "ingest.crt", "QZ_MQTT_KEY": "ingest.key"}, "certificate verify failed"),  # broker unverified
    ({"QZ_MQTT_CA": "missing.crt"}, "cannot read mqtt_ca file"),
    ({"QZ_MQTT_CA": "ingest.key"}, "bad TLS files"),  # a key where the CA belongs
])
def test_ingest_without_the_right_files_is_refused_in_one_line(
        tls_broker: tuple[Mosquitto, dict[str, str]], pki: Path, database_url: str,
        files: dict[str, str], why: str) -> None:
    broker, known = tls_broker
    env = {**os.environ, "QZ_DATABASE_URL": database_url, "QZ_TOPIC_ROOT": ROOT,
           "QZ_MQTT_URL": broker.url_for("ingest", known["ingest"]), **{k: str(pki / v) for k, v in files.items()}}
    out = qingzhi("ingest", env=env)
    assert out.returncode == 2, out.stderr[-2000:]
    error = [line for line in out.stderr.splitlines() if line.startswith("qingzhi: error:")]
    assert len(error) == 1 and why in error[0] and "Traceback" not in out.stderr, out.stderr[-2000:]


def test_tls_files_with_a_plain_url_are_a_mistake(pki: Path) -> None:
    env = {**os.environ, "QZ_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
           "QZ_MQTT_URL": "mqtt://ingest:x@127.0.0.1:1883", "QZ_MQTT_CA": str(pki / "ca.crt")}
    out = qingzhi("simulate", "--units", "1", env={k: v for k, v in env.items() if k != "QZ_DATABASE_URL"})
    assert out.returncode == 2 and "plain MQTT: use an mqtts:// URL" in out.stderr, out.stderr[-2000:]
    out = qingzhi("ingest", "--mqtt-key", str(pki / "ingest.key"), env=env)
    assert out.returncode == 2 and "mqtt_key (QZ_MQTT_KEY) needs mqtt_cert" in out.stderr
