"""Stage 2: named predicates per kind (traccar FilterHandler style).

Each predicate answers "is this reading fine?" for one rule of PROTOCOL.md. A reading that
fails any of them is rejected with the names of all that failed, so an operator reading
`qingzhi rejects` sees every rule it broke, not just the first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.message import Msg

FUTURE_MS = 5 * 60 * 1000
PAST_MS = 7 * 24 * 3600 * 1000
Predicate = Callable[[Any, int, int], bool]     # (shape, ts_ms, now_ms) -> ok?


def ts_not_in_future(s: Any, ts: int, now: int) -> bool:
    """At most 5 minutes ahead of the server clock."""
    return ts <= now + FUTURE_MS


def ts_not_too_old(s: Any, ts: int, now: int) -> bool:
    """At most 7 days old."""
    return ts >= now - PAST_MS


def lat_in_range(s: Any, ts: int, now: int) -> bool:
    """WGS-84 latitude."""
    return -90.0 <= s.lat <= 90.0


def lon_in_range(s: Any, ts: int, now: int) -> bool:
    """WGS-84 longitude."""
    return -180.0 <= s.lon <= 180.0


def not_null_island(s: Any, ts: int, now: int) -> bool:
    """(0, 0) is what a receiver without a fix sends."""
    return s.lat != 0.0 or s.lon != 0.0


def speed_not_negative(s: Any, ts: int, now: int) -> bool:
    """Speed in m/s, ≥ 0 (JSON cannot carry infinities: the decoder refuses 1e400)."""
    return s.speed is None or s.speed >= 0.0


def heading_in_range(s: Any, ts: int, now: int) -> bool:
    """Degrees 0–360."""
    return s.heading is None or 0.0 <= s.heading <= 360.0


def acc_not_negative(s: Any, ts: int, now: int) -> bool:
    """Accuracy in m, ≥ 0."""
    return s.acc is None or s.acc >= 0.0


def batt_in_range(s: Any, ts: int, now: int) -> bool:
    """Battery 0–100 %."""
    return s.batt is None or 0.0 <= s.batt <= 100.0


def storage_in_range(s: Any, ts: int, now: int) -> bool:
    """Free storage 0–100 %."""
    return s.storage is None or 0.0 <= s.storage <= 100.0


def incident_ref_ok(s: Any, ts: int, now: int) -> bool:
    """A status's incident reference: 1–64 characters."""
    return s.incident is None or 0 < len(s.incident) <= 64


def id_ok(s: Any, ts: int, now: int) -> bool:
    """A command or incident id: 1–64 characters, no spaces."""
    return 0 < len(s.id) <= 64 and not any(c.isspace() for c in s.id)


def type_ok(s: Any, ts: int, now: int) -> bool:
    """An incident type code: 1–64 characters."""
    return 0 < len(s.type.strip()) <= 64


def priority_in_range(s: Any, ts: int, now: int) -> bool:
    """1 (most urgent) to 4."""
    return s.priority is None or 1 <= s.priority <= 4


def texts_not_too_long(s: Any, ts: int, now: int) -> bool:
    """Free text fields of an incident: at most 4,000 characters each."""
    return all(v is None or len(v) <= 4000 for v in (s.address, s.caller, s.summary))


def stream_url_ok(s: Any, ts: int, now: int) -> bool:
    """A camera's stream URL: at most 2,000 characters."""
    return s.stream_url is None or len(s.stream_url) <= 2000


TIME = (ts_not_in_future, ts_not_too_old)
POSITION = (lat_in_range, lon_in_range, not_null_island)
PREDICATES: dict[str, tuple[Predicate, ...]] = {
    "gps": TIME + POSITION + (speed_not_negative, heading_in_range, acc_not_negative, batt_in_range),
    "cam": TIME + (batt_in_range, storage_in_range, stream_url_ok),
    "status": TIME + (incident_ref_ok,),
    "ack": TIME + (id_ok,),
    "incident": TIME + POSITION + (id_ok, type_ok, priority_in_range, texts_not_too_long),
}


def failed(kind: str, shape: Any, ts_ms: int, now_ms: int) -> list[str]:
    """Names of the predicates this reading fails (empty: it is fine)."""
    return [p.__name__ for p in PREDICATES[kind] if not p(shape, ts_ms, now_ms)]


class Validate:
    """Drop the readings that fail a predicate into rejects; keep the rest."""

    name = "validate"

    def handle(self, msg: Msg) -> Msg | None:
        """Keep msg.items that pass every predicate of their kind."""
        preds = PREDICATES[msg.kind]
        now = msg.recv_ms
        good = []
        for item in msg.items:
            shape, ts = item.shape, item.ts_ms
            for p in preds:
                if not p(shape, ts, now):
                    bad = failed(msg.kind, shape, ts, now)
                    msg.reject(f"bad {msg.kind}: failed {', '.join(bad)}", item.raw_bytes())
                    break
            else:
                good.append(item)
        msg.items = good
        return msg if good else None
