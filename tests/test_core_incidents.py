"""The core's incident rules (one for the ingest, the importer, the form and the simulator) and Actor."""

from __future__ import annotations

import json
import uuid

import pytest

from qingzhi.core.actor import Actor
from qingzhi.core.callers import hash_caller
from qingzhi.core.incidents import IncidentError, category_of, check_priority, derive, normalise_type
from qingzhi.core.stations import StationLocator
from qingzhi.errors import QingzhiError

SQUARE = {"type": "Polygon", "coordinates": [[[120.0, 30.0], [120.1, 30.0], [120.1, 30.1], [120.0, 30.1], [120.0, 30.0]]]}
STATIONS = StationLocator.from_rows([{"id": "west", "lat": 30.05, "lon": 120.05, "boundary": json.dumps(SQUARE)},
                                     {"id": "east", "lat": 30.05, "lon": 120.5, "boundary": None}])


@pytest.mark.parametrize("raw, stored", [
    ("theft.ebike", "theft.ebike"),
    ("  Theft.EBike ", "theft.ebike"),                       # a code in any case is one code
    ("anti-social-behaviour", "anti-social-behaviour"),      # police.uk's slugs are codes too
    ("EMS: BACK PAINS/INJURY", "EMS: BACK PAINS/INJURY"),    # a name from an outside feed, kept as written
    ("盗窃  电动车", "盗窃 电动车"),                           # runs of spaces become one
])
def test_type_codes_are_lower_cased_and_names_kept(raw: str, stored: str) -> None:
    assert normalise_type(raw) == stored


@pytest.mark.parametrize("raw", ["", "   ", None, "x" * 65, "theft\x00ebike", "bad\ttype\x07"])
def test_bad_types_are_refused(raw: str | None) -> None:
    with pytest.raises(IncidentError, match="bad incident type"):
        normalise_type(raw)


def test_a_commander_must_enter_a_code() -> None:
    assert normalise_type("Dispute.Family", code=True) == "dispute.family"
    with pytest.raises(IncidentError, match="lower-case codes"):
        normalise_type("偷 车", code=True)


def test_category_from_type_unless_stated() -> None:
    assert category_of("theft.ebike") == "theft" and category_of("noise") == "noise"
    assert category_of("EMS: BACK PAINS/INJURY") == "EMS: BACK PAINS/INJURY"
    assert category_of("theft.ebike", "  property ") == "property" and category_of("theft.ebike", " ") == "theft"


def test_derive_station_caller_and_location() -> None:
    d = derive(" Theft.Ebike", 30.05, 120.05, caller="+86 138 0013 8000", caller_key="k", stations=STATIONS)
    assert d == ("theft.ebike", "theft", "west", hash_caller("k", "13800138000"))
    assert derive("x", 30.05, 120.4, caller=None, caller_key="k", stations=STATIONS).station == "east"
    assert derive("x", 30.05, 120.4, caller=" ", caller_key="k", stations=StationLocator.from_rows([])) == (
        "x", "x", None, None)
    with pytest.raises(IncidentError, match="bad location"):
        derive("x", 0.0, 0.0, caller=None, caller_key="k", stations=STATIONS)
    with pytest.raises(IncidentError, match="bad location"):
        derive("x", 91.0, 120.0, caller=None, caller_key="k", stations=STATIONS)
    with pytest.raises(IncidentError, match="priority must be 1 to 4"):
        check_priority(0)


def test_actor_labels_and_context() -> None:
    a, b = Actor.person("李指挥", "dispatch", role="commander"), Actor.person("李指挥", "dispatch", role="commander")
    assert a.label == "李指挥" and a.screen == "dispatch" and isinstance(a.context, uuid.UUID)
    assert a.context != b.context  # each action its own context
    assert Actor.device("XH-C01").label == "device:XH-C01" and Actor.system("overdue").label == "system"
    with pytest.raises(QingzhiError, match="name of who acts"):
        Actor.person(" ", role="commander")
    with pytest.raises(QingzhiError, match="unknown kind"):
        Actor("x", "robot")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        a.name = "someone else"  # type: ignore[misc]
