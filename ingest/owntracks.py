"""OwnTracks app JSON → our shapes: `location` is a gps fix, `lwt` is the unit going offline.

tst is epoch seconds (→ ms), vel km/h (→ m/s), cog degrees (→ heading). The app sends -1 for an
unknown cog, vel or batt (PROTOCOL.md): the fix is kept with that field empty. Other `_type`s
(waypoints, transitions, cards…) carry nothing we store and are ignored, as PROTOCOL.md says.
"""

from __future__ import annotations

import msgspec

from ingest.message import Item, Msg
from ingest.schema import NOT_JSON, OWNTRACKS_FIELDS, GpsFix, OwnTracksLocation, UnitStatus


UNKNOWN = -1


def decode(msg: Msg) -> Msg | None:
    """Fill msg.items from an OwnTracks payload; None when bad (rejected) or ignored."""
    try:
        data = msgspec.json.decode(msg.payload)
    except NOT_JSON as exc:
        msg.reject(f"not JSON: {exc}")
        return None
    if not isinstance(data, dict):
        msg.reject("owntracks payload must be a JSON object")
        return None
    kind = data.get("_type")
    if kind == "lwt":
        msg.kind = "status"
        msg.items.append(Item(UnitStatus(status="offline"), {"owntracks": "lwt"}, msg.recv_ms, msg.payload))
        return msg
    if kind != "location":
        return None
    known = {k: v for k, v in data.items() if k in OWNTRACKS_FIELDS and k != "_type"}
    extra = {k: v for k, v in data.items() if k not in OWNTRACKS_FIELDS} or None
    try:
        loc = msgspec.convert(known, OwnTracksLocation)
    except msgspec.ValidationError as exc:
        msg.reject(f"bad owntracks location: {exc}")
        return None
    msg.kind = "gps"
    vel, cog, batt = (None if v == UNKNOWN else v for v in (loc.vel, loc.cog, loc.batt))
    fix = GpsFix(
        ts=loc.tst * 1000, lat=loc.lat, lon=loc.lon,
        speed=None if vel is None else vel / 3.6,
        heading=cog, acc=loc.acc, alt=loc.alt, batt=batt,
    )
    msg.items.append(Item(fix, extra, loc.tst * 1000, msg.payload))
    return msg
