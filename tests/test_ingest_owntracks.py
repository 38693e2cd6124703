"""OwnTracks mapping (part of Decode): location → gps, lwt → offline, other types ignored."""

from __future__ import annotations

import pytest
from ingest_helpers import ROOT, make_message, now_ms

from ingest.decode import Decode
from ingest.topics import Topics
from ingest.validate import Validate


@pytest.fixture
def decode() -> Decode:
    return Decode(Topics(ROOT))


def test_location_maps_units(decode: Decode) -> None:
    tst = now_ms() // 1000
    msg = decode.handle(make_message(topic="owntracks/s2/phone7", payload={
        "_type": "location", "lat": 30.1, "lon": 120.2, "tst": tst, "vel": 36, "cog": 270, "acc": 12,
        "batt": 55, "tid": "p7", "conn": "m"}))
    assert msg is not None and msg.kind == "gps" and (msg.station, msg.unit) == ("s2", "phone7")
    [item] = msg.items
    assert item.ts_ms == tst * 1000
    assert item.shape.speed == pytest.approx(10.0)      # 36 km/h
    assert item.shape.heading == 270 and item.shape.acc == 12 and item.shape.batt == 55
    assert item.extra == {"tid": "p7", "conn": "m"}


def test_lwt_is_offline_at_receive_time(decode: Decode) -> None:
    msg = decode.handle(make_message(topic="owntracks/s2/phone7", payload={"_type": "lwt", "tst": 1}, recv_ms=99))
    assert msg is not None and msg.kind == "status"
    assert msg.items[0].shape.status == "offline" and msg.items[0].ts_ms == 99


def test_other_types_ignored(decode: Decode) -> None:
    msg = make_message(topic="owntracks/s2/phone7", payload={"_type": "waypoint", "desc": "home"})
    assert decode.handle(msg) is None and msg.rejects == []


def test_bad_location_rejected(decode: Decode) -> None:
    msg = make_message(topic="owntracks/s2/phone7", payload={"_type": "location", "lat": 30.1, "lon": 120.2})
    assert decode.handle(msg) is None and "tst" in msg.rejects[0][1]


def test_ios_unknown_sentinels_keep_the_fix(decode: Decode) -> None:
    """The iOS app sends -1 for an unknown course, speed and battery: the fix is good, those fields empty."""
    msg = decode.handle(make_message(topic="owntracks/s2/phone7", payload={
        "_type": "location", "lat": 30.1, "lon": 120.2, "tst": now_ms() // 1000, "vel": -1, "cog": -1, "batt": -1}))
    assert msg is not None and msg.rejects == []
    shape = msg.items[0].shape
    assert (shape.speed, shape.heading, shape.batt) == (None, None, None)
    assert Validate().handle(msg) is msg and msg.rejects == [] and msg.items[0].extra is None


def test_huge_owntracks_speed_is_emptied_not_fatal(decode: Decode) -> None:
    """vel 1e300 km/h: the same path as a gps speed out of range (the crash of issue 9)."""
    msg = decode.handle(make_message(topic="owntracks/s2/phone7", payload={
        "_type": "location", "lat": 30.1, "lon": 120.2, "tst": now_ms() // 1000, "vel": 1e300}))
    assert Validate().handle(msg) is msg
    assert msg.items[0].shape.speed is None and "speed" in msg.items[0].extra["out_of_range"]


# The shapes real OwnTracks apps publish, as Traccar's decoder tests record them (Android with `conn`,
# `vac`, `t`; the iOS minimum of lat/lon/tst/tid; a moving fix with cog and vel), with `tst` moved to now
# (the ingest accepts fixes up to 7 days old), and the iOS app's -1 sentinels.
PUBLISHED = [
    {"_type": "location", "acc": 15, "alt": 440, "batt": 46, "conn": "w", "lat": 46.0681247, "lon": 11.1512805,
     "t": "u", "tid": "5t", "vac": 2, "vel": 0},
    {"lon": 2.29513, "lat": 48.85833, "_type": "location", "tid": "JJ"},
    {"cog": 271, "lon": 2.29513, "acc": 5, "vel": 61, "vac": 21, "lat": 48.85833, "alt": 167, "_type": "location",
     "tid": "JJ", "t": "u", "batt": 67},
    {"_type": "location", "lat": 48.85, "lon": 2.295, "tid": "JJ", "cog": -1, "vel": -1, "batt": -1, "acc": 65,
     "alt": 35, "vac": 10, "bs": 1, "m": 1},
]


@pytest.mark.parametrize("payload", PUBLISHED)
def test_published_owntracks_fixes_are_kept(decode: Decode, payload: dict) -> None:
    msg = decode.handle(make_message(topic="owntracks/s2/phone7", payload={**payload, "tst": now_ms() // 1000}))
    assert msg is not None and Validate().handle(msg) is msg and msg.rejects == []
    [item] = msg.items
    assert (item.shape.lat, item.shape.lon) == (payload["lat"], payload["lon"])
    assert item.shape.speed == (None if payload.get("vel", -1) == -1 else pytest.approx(payload["vel"] / 3.6))
    assert item.extra["tid"] == payload["tid"] and "out_of_range" not in item.extra


def test_prefix_is_configurable() -> None:
    topics = Topics(ROOT, "police/phones")
    assert topics.filters(None) == [f"{ROOT}/#", "police/phones/+/+"]
    assert topics.filters("g") == [f"$share/g/{ROOT}/#", "$share/g/police/phones/+/+"]
    decode = Decode(topics)
    msg = decode.handle(make_message(topic="police/phones/s2/phone7",
                                     payload={"_type": "location", "lat": 30.1, "lon": 120.2, "tst": now_ms() // 1000}))
    assert msg is not None and msg.kind == "gps" and (msg.station, msg.unit) == ("s2", "phone7")
    for topic in ("owntracks/s2/phone7", "police/phones/s2", "police/phones/s2/phone7/event", "police/s2/phone7"):
        bad = make_message(topic=topic, payload={"_type": "location", "lat": 30.1, "lon": 120.2, "tst": 1})
        assert decode.handle(bad) is None and "unknown topic" in bad.rejects[0], topic
