"""Stage Validate: each named predicate, alone, rejects its bad kind; good readings pass."""

from __future__ import annotations

import pytest
from ingest_helpers import ROOT, make_message, now_ms

from ingest.decode import Decode
from ingest.message import Msg
from ingest.topics import Topics
from ingest.validate import Validate

DAY = 24 * 3600 * 1000


def run(msg: Msg) -> Msg | None:
    decoded = Decode(Topics(ROOT)).handle(msg)
    assert decoded is not None, msg.rejects
    return Validate().handle(decoded)


@pytest.mark.parametrize("fields, predicate", [
    ({"ts": 6 * 60 * 1000}, "ts_not_in_future"),      # ts as an offset from now (set at run time)
    ({"ts": -8 * DAY}, "ts_not_too_old"),
    ({"lat": 91.0}, "lat_in_range"),
    ({"lon": -181.0}, "lon_in_range"),
    ({"lat": 0, "lon": 0}, "not_null_island"),
    ({"lat": 1e300}, "lat_in_range"),
])
def test_gps_predicates(fields: dict, predicate: str) -> None:
    msg = make_message(**{**fields, "ts": now_ms() + fields.get("ts", 0)})
    assert run(msg) is None
    [(raw, reason)] = msg.rejects
    assert reason == f"bad gps: failed {predicate}" and raw == msg.payload


def test_all_failed_predicates_are_named() -> None:
    msg = make_message(lat=0, lon=1e300, ts=now_ms() - 8 * DAY)
    assert run(msg) is None
    assert msg.rejects[0][1] == "bad gps: failed ts_not_too_old, lon_in_range"


@pytest.mark.parametrize("field, value", [
    ("speed", -1), ("speed", 150.5), ("speed", 1e300), ("heading", 361), ("heading", -0.5), ("acc", -5),
    ("acc", 1e6), ("alt", -1001), ("alt", 1e300), ("batt", 101), ("batt", -1e300),
])
def test_out_of_range_optional_number_is_emptied_and_kept_in_extra(field: str, value: float) -> None:
    """PROTOCOL.md ranges: the good position is stored; the bad number never reaches a column."""
    msg = run(make_message(**{field: value, "speed": 3.0} if field != "speed" else {field: value}))
    assert msg is not None and msg.rejects == []
    [item] = msg.items
    assert getattr(item.shape, field) is None
    assert item.extra == {"out_of_range": {field: value}}
    if field != "speed":
        assert item.shape.speed == 3.0


def test_cam_numbers_out_of_range_are_emptied() -> None:
    msg = run(make_message(topic=f"{ROOT}/s1/u1/cam",
                           payload={"ts": now_ms(), "state": "standby", "batt": -1, "storage": 150, "x": 1}))
    assert msg is not None and msg.rejects == []
    [item] = msg.items
    assert (item.shape.batt, item.shape.storage) == (None, None)
    assert item.extra == {"x": 1, "out_of_range": {"batt": -1, "storage": 150}}


def test_good_fix_passes_with_edges() -> None:
    msg = run(make_message(lat=-90, lon=180, speed=0, heading=360, batt=0, ts=now_ms() - 7 * DAY + 60_000))
    assert msg is not None and len(msg.items) == 1 and msg.rejects == []


def test_array_rejects_only_the_bad_element() -> None:
    t = now_ms()
    msg = run(make_message(payload=[{"ts": t, "lat": 30, "lon": 120}, {"ts": t + 1, "lat": 0, "lon": 0}]))
    assert msg is not None and [i.ts_ms for i in msg.items] == [t]
    assert msg.rejects[0][0] == b'{"ts":%d,"lat":0.0,"lon":0.0}' % (t + 1)


@pytest.mark.parametrize("topic, payload, predicate", [
    ("s1/u1/status", {"status": "busy", "incident": "x" * 65}, "incident_ref_ok"),
    ("s1/u1/status", {"status": "busy", "incident": "I\x001"}, "incident_ref_ok"),
    ("s1/u1/ack", {"id": "has space"}, "id_ok"),
    ("s1/u1/ack", {"id": "nul\x00"}, "id_ok"),
    ("incidents", {"id": "I1", "lat": 30, "lon": 120, "type": "theft\x00"}, "type_ok"),
    ("s1/u1/check", {"id": "a b", "lat": 30, "lon": 120, "kind": "person", "hit": False}, "id_ok"),
    ("s1/u1/check", {"id": "C1", "lat": 30, "lon": 120, "kind": "person", "hit": False, "subject": "x" * 65},
     "check_texts_ok"),
    ("incidents", {"id": "I1", "lat": 30, "lon": 120, "type": "theft", "priority": 5}, "priority_in_range"),
    ("incidents", {"id": "I1", "lat": 30, "lon": 120, "type": " "}, "type_ok"),
    ("incidents", {"id": "I1", "lat": 0, "lon": 0, "type": "theft"}, "not_null_island"),
    ("incidents", {"id": "I1", "lat": 30, "lon": 120, "type": "theft", "summary": "x" * 4001}, "texts_not_too_long"),
])
def test_other_kinds(topic: str, payload: dict, predicate: str) -> None:
    msg = make_message(topic=f"{ROOT}/{topic}", payload={"ts": now_ms(), **payload})
    assert run(msg) is None
    assert msg.rejects[0][1].endswith(f"failed {predicate}")
