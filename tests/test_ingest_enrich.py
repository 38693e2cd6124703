"""Stage Enrich: incident category, jurisdiction (area, else nearest station), caller hash, command uuid."""

from __future__ import annotations

import json
import uuid

from ingest_helpers import ROOT, make_message, now_ms

from ingest.decode import Decode
from ingest.enrich import Enrich, Jurisdictions
from ingest.topics import Topics
from qingzhi.core.callers import hash_caller

SQUARE = {"type": "Polygon", "coordinates": [[[120.0, 30.0], [120.1, 30.0], [120.1, 30.1], [120.0, 30.1], [120.0, 30.0]]]}


def jurisdictions() -> Jurisdictions:
    j = Jurisdictions()
    j.update([{"id": "west", "lat": 30.05, "lon": 120.05, "boundary": json.dumps(SQUARE)},
              {"id": "east", "lat": 30.05, "lon": 120.5, "boundary": None}])
    return j


def enrich(msg, j: Jurisdictions | None = None):  # noqa: ANN001, ANN201 - test helper
    return Enrich("secret", j or jurisdictions()).handle(Decode(Topics(ROOT)).handle(msg))


def incident(**fields: object):  # noqa: ANN201 - test helper
    return make_message(topic=f"{ROOT}/incidents", payload={
        "id": "110-1", "ts": now_ms(), "lat": 30.05, "lon": 120.05, "type": "theft.ebike", **fields})


def test_category_station_and_caller_hash() -> None:
    msg = enrich(incident(caller="138 0013-8000"))
    category, station, caller = msg.items[0].derived
    assert category == "theft" and station == "west"
    assert caller == hash_caller("secret", "13800138000") and "13800138000" not in caller


def test_outside_every_area_goes_to_nearest_station() -> None:
    assert enrich(incident(lat=30.05, lon=120.4)).items[0].derived[1] == "east"


def test_no_stations_no_station() -> None:
    assert enrich(incident(type="dispute"), Jurisdictions()).items[0].derived[:2] == ("dispute", None)


def test_ack_command_uuid() -> None:
    cid = uuid.uuid4()
    good = enrich(make_message(topic=f"{ROOT}/s1/u1/ack", payload={"id": str(cid), "ts": now_ms()}))
    other = enrich(make_message(topic=f"{ROOT}/s1/u1/ack", payload={"id": "cmd-7"}))
    assert good.items[0].derived == (cid,) and other.items[0].derived == (None,)
