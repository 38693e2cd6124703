"""Settings: environment, flags and one-line errors."""

import pytest

from qingzhi.config import load_settings, parse_mqtt_url
from qingzhi.errors import QingzhiError


def test_flags_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QZ_TOPIC_ROOT", "city/v1")
    monkeypatch.setenv("QZ_BATCH_SIZE", "100")
    s = load_settings(batch_size=7, topic_root=None)
    assert s.topic_root == "city/v1"
    assert s.batch_size == 7


def test_bad_setting_names_the_variable_and_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QZ_BATCH_MS", "0")
    with pytest.raises(QingzhiError, match=r"batch_ms \(QZ_BATCH_MS / --batch-ms\)"):
        load_settings()


def test_bad_topic_root_rejected() -> None:
    with pytest.raises(QingzhiError, match="topic_root"):
        load_settings(topic_root="qz/#")


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "user", "password"),
    [
        ("mqtt://127.0.0.1", "127.0.0.1", 1883, False, None, None),
        ("mqtts://broker.local", "broker.local", 8883, True, None, None),
        ("mqtt://ops:p%40ss@10.0.0.5:11883", "10.0.0.5", 11883, False, "ops", "p@ss"),
    ],
)
def test_parse_mqtt_url(url: str, host: str, port: int, tls: bool, user: str | None, password: str | None) -> None:
    t = parse_mqtt_url(url)
    assert (t.host, t.port, t.tls, t.username, t.password) == (host, port, tls, user, password)


@pytest.mark.parametrize("url", ["http://x", "mqtt://", "mqtt://h:notaport"])
def test_parse_mqtt_url_errors(url: str) -> None:
    with pytest.raises(QingzhiError, match="bad MQTT URL"):
        parse_mqtt_url(url)


def test_owntracks_prefix_may_not_overlap_the_topic_root() -> None:
    assert load_settings(owntracks_prefix="phones/v1").owntracks_prefix == "phones/v1"
    for root, prefix in (("qz/v1", "qz/v1"), ("qz/v1", "qz/v1/ot"), ("ot/qz", "ot")):
        with pytest.raises(QingzhiError, match="overlap"):
            load_settings(topic_root=root, owntracks_prefix=prefix)
    with pytest.raises(QingzhiError, match="owntracks_prefix"):
        load_settings(owntracks_prefix="owntracks/#")


@pytest.mark.parametrize("zone", ["Nowhere/Zone", "../../etc/passwd", "", "UTC+8"])
def test_a_time_zone_must_be_a_real_one(zone: str) -> None:
    """Once accepted and then a ZoneInfo traceback deep in a command (briefing), or silently unused (search)."""
    with pytest.raises(QingzhiError, match=r"timezone \(QZ_TIMEZONE / --timezone\).*not an IANA time zone"):
        load_settings(timezone=zone)
    assert load_settings(timezone="Europe/London").timezone == "Europe/London"


@pytest.mark.parametrize("name", ["database_url", "database_read_url"])
def test_database_urls_blank_is_unset_and_a_scheme_is_required(name: str) -> None:
    assert getattr(load_settings(**{name: "  "}), name) is None
    with pytest.raises(QingzhiError, match=f"bad setting {name}"):
        load_settings(**{name: "127.0.0.1:5432/qz"})


@pytest.mark.parametrize("name", ["retention_days", "rejects_keep_days", "rejects_keep_rows", "stale_after_s",
                                  "lost_after_s"])
def test_day_row_and_second_counts_have_an_upper_bound(name: str) -> None:
    """Unbounded, a huge value made the worker's chores fail every round (int32 query arguments, timedelta)."""
    with pytest.raises(QingzhiError, match=f"bad setting {name}.*less than or equal"):
        load_settings(**{name: 10**20})


@pytest.mark.parametrize(("name", "value"), [("topic_root", "qz/" + "x" * 70_000), ("owntracks_prefix", "o" * 201),
                                             ("client_id", "c" * 70_000), ("client_id", "")])
def test_mqtt_names_fit_what_mqtt_carries(name: str, value: str) -> None:
    """Too long, the ingest's subscription failed inside paho's callback and it received nothing, saying
    nothing; a client id past 65,535 bytes was a struct.error traceback."""
    with pytest.raises(QingzhiError, match=f"bad setting {name}"):
        load_settings(**{name: value})
