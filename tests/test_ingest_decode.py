"""Stage Decode: topics, payload forms, time formats, unknown fields, bad input."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from ingest_helpers import ROOT, make_message, now_ms

from ingest.decode import MAX_PAYLOAD, Decode
from ingest.topics import BadTopic, Topics


@pytest.fixture
def decode() -> Decode:
    return Decode(Topics(ROOT))


def test_gps_object(decode: Decode) -> None:
    msg = decode.handle(make_message(speed=3.5, batt=80))
    assert msg is not None and msg.kind == "gps" and (msg.station, msg.unit) == ("s1", "u1")
    [item] = msg.items
    assert item.shape.speed == 3.5 and item.shape.batt == 80 and item.extra is None


def test_gps_array_keeps_good_elements(decode: Decode) -> None:
    t = now_ms()
    msg = decode.handle(make_message(payload=[
        {"ts": t, "lat": 30.1, "lon": 120.1},
        {"ts": t + 1, "lat": "north", "lon": 120.1},
        7,
        {"ts": t + 2, "lat": 30.2, "lon": 120.2, "sats": 9},
    ]))
    assert msg is not None
    assert [i.ts_ms for i in msg.items] == [t, t + 2]
    assert msg.items[1].extra == {"sats": 9}
    reasons = [r for _, r in msg.rejects]
    assert len(reasons) == 2 and "lat" in reasons[0] and "must be a JSON object" in reasons[1]
    assert msg.rejects[1][0] == b"7"   # the bad element alone, not the whole array


def test_iso_time_with_offset(decode: Decode) -> None:
    msg = decode.handle(make_message(payload={"ts": "2026-11-22T08:15:02.250+08:00", "lat": 30.1, "lon": 120.1}))
    expected = datetime(2026, 11, 22, 0, 15, 2, 250000, tzinfo=timezone.utc).timestamp() * 1000
    assert msg is not None and msg.items[0].ts_ms == expected


@pytest.mark.parametrize("ts, why", [("2026-11-22T08:15:02", "no UTC offset"), ("yesterday", "not an ISO"),
                                     (1.5e12, "Expected `int | str`")])
def test_bad_time_formats(decode: Decode, ts: object, why: str) -> None:
    msg = make_message(payload={"ts": ts, "lat": 30.1, "lon": 120.1})
    assert decode.handle(msg) is None
    assert why in msg.rejects[0][1]


def test_unknown_fields_kept_as_extra(decode: Decode) -> None:
    msg = decode.handle(make_message(topic=f"{ROOT}/s1/u1/cam", payload={"ts": now_ms(), "state": "recording", "fw": "1.2"}))
    assert msg is not None and msg.items[0].extra == {"fw": "1.2"}


def test_status_without_ts_uses_receive_time(decode: Decode) -> None:
    msg = decode.handle(make_message(topic=f"{ROOT}/s1/u1/status", payload={"status": "offline"}, recv_ms=1234))
    assert msg is not None and msg.items[0].ts_ms == 1234


@pytest.mark.parametrize("topic, payload, why", [
    (f"{ROOT}/s1/u1/gps", b"{not json", "not JSON"),
    (f"{ROOT}/s1/u1/gps", {"lat": 30.1, "lon": 120.1}, "ts"),
    (f"{ROOT}/s1/u1/gps", {"ts": 1, "lat": True, "lon": 120.1}, "Expected `float`, got `bool`"),
    (f"{ROOT}/s1/u1/gps", [], "empty array"),
    (f"{ROOT}/s1/u1/gps", b'{"ts": 1, "lat": 30, "lon": 120, "speed": 1e400}', "Number out of range"),
    (f"{ROOT}/s1/u1/gps", "a string", "must be a JSON object"),
    (f"{ROOT}/s1/u1/cam", {"ts": 1, "state": "dancing"}, "Invalid enum value 'dancing'"),
    (f"{ROOT}/s1/u1/status", {"status": "asleep"}, "Invalid enum value"),
    (f"{ROOT}/s1/u1/cam", [{"ts": 1, "state": "off"}], "must be a JSON object"),
    (f"{ROOT}/s1/u1/ack", {"ts": 1}, "id"),
    (f"{ROOT}/incidents", {"id": "A", "ts": 1, "lat": 30, "lon": 120}, "type"),
    (f"{ROOT}/s1/u1/weather", {}, "unknown topic under"),
    (f"{ROOT}/s1/u1/gps/extra", {}, "unknown topic under"),
    (f"{ROOT}/s 1/u1/gps", {}, "bad station id"),
    (f"{ROOT}/s1/{'u' * 65}/gps", {}, "bad unit id"),
    ("owntracks/a b/phone", {}, "bad station id"),
])
def test_bad_input_is_rejected_with_reason(decode: Decode, topic: str, payload: object, why: str) -> None:
    msg = make_message(topic=topic, payload=payload)
    assert decode.handle(msg) is None
    assert len(msg.rejects) == 1 and why in msg.rejects[0][1], msg.rejects


def test_oversized_payload(decode: Decode) -> None:
    msg = make_message(payload=b"[" + b" " * MAX_PAYLOAD + b"]")
    assert decode.handle(msg) is None and "over 256 KiB" in msg.rejects[0][1]


def test_commands_to_devices_are_ignored_not_rejected(decode: Decode) -> None:
    msg = make_message(topic=f"{ROOT}/s1/u1/cmd", payload={"id": "x"})
    assert decode.handle(msg) is None and msg.rejects == []


def test_topic_cache_answers_the_same(decode: Decode) -> None:
    topics = decode.topics
    assert topics.parse(f"{ROOT}/s1/u1/gps") == topics.parse(f"{ROOT}/s1/u1/gps") == ("gps", "s1", "u1")
    assert topics.filters("grp") == [f"$share/grp/{ROOT}/#", "$share/grp/owntracks/+/+"]


def test_topic_cache_is_bounded_by_bytes_and_keeps_no_bad_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9: 60 KB topics could once fill ~6 GB of cache; bad topics are never cached at all."""
    from ingest import topics as topics_module
    monkeypatch.setattr(topics_module, "CACHE_BYTES", 10_000)
    topics = Topics(ROOT)
    for i in range(200):
        topics.parse(f"{ROOT}/s1/u{i:060d}/gps")
        assert topics._cached_bytes <= 10_000
        with pytest.raises(BadTopic):
            topics.parse(f"{ROOT}/s1/u{i}/" + "x" * 60_000)
    assert 0 < len(topics._cache) < 200 and all(len(t) < 100 for t in topics._cache)
