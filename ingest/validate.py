"""Stage 2: named predicates per kind (traccar FilterHandler style).

Each predicate answers "is this reading fine?" for one rule of PROTOCOL.md. A reading that
fails any of them is rejected with the names of all that failed, so an operator reading
`qingzhi rejects` sees every rule it broke, not just the first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.message import Item, Msg
from qingzhi.core.incidents import TEXT_MAX

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


def _is_id(text: str) -> bool:
    # printable excludes NUL, other control characters and lone surrogates, which no id may hold
    return 0 < len(text) <= 64 and text.isprintable() and not any(c.isspace() for c in text)


def incident_ref_ok(s: Any, ts: int, now: int) -> bool:
    """A status's incident reference: an id (1–64 printable characters, no spaces)."""
    return s.incident is None or _is_id(s.incident)


def id_ok(s: Any, ts: int, now: int) -> bool:
    """A command or incident id: 1–64 printable characters, no spaces."""
    return _is_id(s.id)


def type_ok(s: Any, ts: int, now: int) -> bool:
    """An incident type code: 1–64 printable characters."""
    return 0 < len(s.type.strip()) <= 64 and s.type.isprintable()


def priority_in_range(s: Any, ts: int, now: int) -> bool:
    """1 (most urgent) to 4."""
    return s.priority is None or 1 <= s.priority <= 4


def texts_not_too_long(s: Any, ts: int, now: int) -> bool:
    """Free text fields of an incident: at most TEXT_MAX (4,000) characters each."""
    return all(v is None or len(v) <= TEXT_MAX for v in (s.address, s.caller, s.summary))


def check_texts_ok(s: Any, ts: int, now: int) -> bool:
    """A check's subject (an ID-card or plate number) at most 64 characters, its note at most 4,000."""
    return (s.subject is None or len(s.subject) <= 64) and (s.note is None or len(s.note) <= 4000)


def stream_url_ok(s: Any, ts: int, now: int) -> bool:
    """A camera's stream URL: at most 2,000 characters."""
    return s.stream_url is None or len(s.stream_url) <= 2000


# PROTOCOL.md ranges of the optional numbers. A value outside its range (1e300 included) is
# stored as empty where the reading is otherwise good, and kept verbatim in the row's `extra`
# under "out_of_range": the position is worth more than a garbled speed, and no column ever
# receives a number it cannot hold (real is float32).
OPTIONAL_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "gps": {"speed": (0.0, 150.0), "heading": (0.0, 360.0), "acc": (0.0, 100_000.0),
            "alt": (-1_000.0, 10_000.0), "batt": (0.0, 100.0)},
    "cam": {"batt": (0.0, 100.0), "storage": (0.0, 100.0)},
}

TIME = (ts_not_in_future, ts_not_too_old)
POSITION = (lat_in_range, lon_in_range, not_null_island)
PREDICATES: dict[str, tuple[Predicate, ...]] = {
    "gps": TIME + POSITION,
    "cam": TIME + (stream_url_ok,),
    "status": TIME + (incident_ref_ok,),
    "ack": TIME + (id_ok,),
    "incident": TIME + POSITION + (id_ok, type_ok, priority_in_range, texts_not_too_long),
    "check": TIME + POSITION + (id_ok, check_texts_ok),
}


def empty_out_of_range(kind: str, item: Item) -> None:
    """Empty the optional numbers outside their range; keep what was sent in item.extra["out_of_range"]."""
    ranges = OPTIONAL_RANGES.get(kind)
    if not ranges:
        return
    shape, dropped = item.shape, None
    for name, (lo, hi) in ranges.items():
        value = getattr(shape, name)
        if value is not None and not lo <= value <= hi:
            dropped = dropped or {}
            dropped[name] = value
            setattr(shape, name, None)
    if dropped:
        item.extra = {**(item.extra or {}), "out_of_range": dropped}


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
                empty_out_of_range(msg.kind, item)
                good.append(item)
        msg.items = good
        return msg if good else None
