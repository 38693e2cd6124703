"""Typed shapes of the device messages of PROTOCOL.md, decoded by msgspec.

Types, required fields and enums are checked here by the decoder; ranges, times and ids
are the named predicates of validate.py. `forbid_unknown_fields` serves the fast path:
a payload with extra fields fails it and takes the slow path, which keeps them in `extra`.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from qingzhi.core.vocab import CAM_STATES, UNIT_STATUSES

# The enums come from the core's vocabulary (Literal accepts a tuple of values).
CamStateName = Literal[CAM_STATES]  # type: ignore[valid-type]
UnitStatusName = Literal[UNIT_STATUSES]  # type: ignore[valid-type]


class GpsFix(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """`…/gps`: one position fix."""

    ts: int | str
    lat: float
    lon: float
    speed: float | None = None
    heading: float | None = None
    acc: float | None = None
    alt: float | None = None
    batt: float | None = None


class CamState(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """`…/cam`: body-worn camera state."""

    ts: int | str
    state: CamStateName
    batt: float | None = None
    storage: float | None = None
    stream_url: str | None = None


class UnitStatus(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """`…/status`: unit status; ts may be missing (last will)."""

    status: UnitStatusName
    ts: int | str | None = None
    incident: str | None = None
    sos: bool = False


class CommandAck(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """`…/ack`: a device acknowledges a command."""

    id: str
    ts: int | str | None = None


class Incident(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """`{root}/incidents`: a 110 call."""

    id: str
    ts: int | str
    lat: float
    lon: float
    type: str
    priority: int | None = None
    address: str | None = None
    caller: str | None = None
    summary: str | None = None


class Check(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """`…/check`: a stop-and-check (盘查) by the unit."""

    id: str
    ts: int | str
    lat: float
    lon: float
    kind: Literal["person", "vehicle"]
    hit: bool
    subject: str | None = None
    note: str | None = None


class OwnTracksLocation(msgspec.Struct):
    """OwnTracks `_type: location` (tst in seconds, vel in km/h)."""

    lat: float
    lon: float
    tst: int
    acc: float | None = None
    alt: float | None = None
    batt: float | None = None
    vel: float | None = None
    cog: float | None = None


# msgspec raises RecursionError, not DecodeError, for nesting deeper than it will follow
NOT_JSON = (msgspec.DecodeError, RecursionError)

SHAPES: dict[str, type[msgspec.Struct]] = {
    "gps": GpsFix, "cam": CamState, "status": UnitStatus, "ack": CommandAck, "incident": Incident, "check": Check,
}
FIELDS: dict[str, frozenset[str]] = {k: frozenset(s.__struct_fields__) for k, s in SHAPES.items()}
OWNTRACKS_FIELDS = frozenset(OwnTracksLocation.__struct_fields__) | {"_type"}
