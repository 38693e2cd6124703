"""Stage 1: topic and payload → typed readings (PROTOCOL.md shapes), or a reject saying why."""

from __future__ import annotations

from datetime import datetime

import msgspec

from ingest import owntracks
from ingest.message import Item, Msg
from ingest.schema import FIELDS, NOT_JSON, SHAPES, GpsFix
from ingest.topics import IGNORED, BadTopic, Topics

MAX_PAYLOAD = 256 * 1024
TS_OPTIONAL = frozenset(("status", "ack"))   # a missing ts means the server's receive time


def to_ms(ts: int | str | None, recv_ms: int) -> int:
    """Epoch ms from an int of ms or an ISO-8601 string with an offset; ValueError otherwise."""
    if ts is None:
        return recv_ms
    if isinstance(ts, int):
        return ts
    try:
        when = datetime.fromisoformat(ts)
    except ValueError:
        raise ValueError(f"ts {ts[:40]!r} is not an ISO-8601 time") from None
    if when.tzinfo is None:
        raise ValueError(f"ts {ts[:40]!r} has no UTC offset")
    return round(when.timestamp() * 1000)


class Decode:
    """Parse the topic, bound the size, decode JSON into the topic's shape.

    Fast path: msgspec decodes straight into a Struct that forbids unknown fields. Anything
    else (unknown fields kept as `extra`, a bad element in an array, a wrong type) takes the
    slow path, which decodes generically and converts element by element.
    """

    name = "decode"

    def __init__(self, topics: Topics):
        self.topics = topics
        self.fast = {kind: msgspec.json.Decoder(shape) for kind, shape in SHAPES.items()}
        self.fast["gps"] = msgspec.json.Decoder(GpsFix | list[GpsFix])

    def handle(self, msg: Msg) -> Msg | None:
        """Fill msg.kind/station/unit/items; None when the message is bad or not for us."""
        try:
            kind, msg.station, msg.unit = self.topics.parse(msg.topic)
        except BadTopic as exc:
            msg.reject(str(exc))
            return None
        if kind == IGNORED:
            return None
        if len(msg.payload) > MAX_PAYLOAD:
            msg.reject(f"payload of {len(msg.payload)} bytes is over 256 KiB")
            return None
        if kind == "owntracks":
            return owntracks.decode(msg)
        msg.kind = kind
        try:
            decoded = self.fast[kind].decode(msg.payload)
        except NOT_JSON:
            return self._slow(msg)
        if isinstance(decoded, list):
            if not decoded:
                msg.reject("empty array")
                return None
            for shape in decoded:
                self._add(msg, shape, None, None)
        else:
            self._add(msg, decoded, None, msg.payload)
        return msg if msg.items else None

    def _slow(self, msg: Msg) -> Msg | None:
        try:
            data = msgspec.json.decode(msg.payload)
        except NOT_JSON as exc:
            msg.reject(f"not JSON: {exc}")
            return None
        many = msg.kind == "gps" and isinstance(data, list)
        if many and not data:
            msg.reject("empty array")
            return None
        shape_type, fields = SHAPES[msg.kind], FIELDS[msg.kind]
        for element in data if many else (data,):
            raw = msgspec.json.encode(element) if many else msg.payload
            if not isinstance(element, dict):
                msg.reject(f"{msg.kind} payload must be a JSON object{' or array' if msg.kind == 'gps' else ''}", raw)
                continue
            known = {k: v for k, v in element.items() if k in fields}
            extra = {k: v for k, v in element.items() if k not in fields} or None
            try:
                shape = msgspec.convert(known, shape_type)
            except msgspec.ValidationError as exc:
                msg.reject(f"bad {msg.kind}: {exc}", raw)
                continue
            self._add(msg, shape, extra, raw)
        return msg if msg.items else None

    def _add(self, msg: Msg, shape: msgspec.Struct, extra: dict | None, raw: bytes | None) -> None:
        ts = shape.ts
        if ts is None and msg.kind not in TS_OPTIONAL:
            msg.reject(f"bad {msg.kind}: ts is required", raw if raw is not None else msgspec.json.encode(shape))
            return
        try:
            ts_ms = ts if type(ts) is int else to_ms(ts, msg.recv_ms)
        except ValueError as exc:
            msg.reject(f"bad {msg.kind}: {exc}", raw if raw is not None else msgspec.json.encode(shape))
            return
        msg.items.append(Item(shape, extra, ts_ms, raw))
