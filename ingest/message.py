"""The unit of work of the ingest: one MQTT message, as it moves through the pipeline.

A message is acknowledged to the broker after its batch commits, whatever became of it:
stored, rejected (then `rejects` holds why) or ignored. Each stage adds to it; none copies it.
"""

from __future__ import annotations

from typing import Any

import msgspec

# Staging table names (see store.py); Rows fills msg.rows with (table, tuple).
POS, CAM, STATUS, ACK, INCIDENT, CHECK = "pos", "cam", "status", "ack", "incident", "check"


class Msg:
    """One received MQTT message and what the stages made of it."""

    __slots__ = (
        "topic", "payload", "mid", "qos", "generation", "recv_ms",
        "kind", "station", "unit", "items", "rows", "rejects",
    )

    def __init__(self, topic: str, payload: bytes, recv_ms: int, mid: int = 0, qos: int = 0, generation: int = 0):
        self.topic = topic
        self.payload = payload
        self.recv_ms = recv_ms          # server receive time, epoch ms
        self.mid = mid                  # MQTT packet id, for the ack after commit
        self.qos = qos
        self.generation = generation    # broker connection it came on: acks only go back on the same one
        self.kind = ""                  # gps, cam, status, ack, incident (OwnTracks is mapped onto gps/status)
        self.station = ""
        self.unit = ""
        # Decoded readings; several for a gps array.
        self.items: list[Item] = []
        self.rows: list[tuple[str, tuple[Any, ...]]] = []
        self.rejects: list[tuple[bytes, str]] = []   # (raw bytes, reason)

    def reject(self, reason: str, raw: bytes | None = None) -> None:
        """Record this message (or one raw element of it) as bad input, with the reason."""
        self.rejects.append((self.payload if raw is None else raw, reason))

    def __repr__(self) -> str:
        return f"Msg({self.topic!r}, {self.payload[:60]!r})"


class Item:
    """One reading of a message: the typed shape, its unknown fields, its time, derived values."""

    __slots__ = ("shape", "extra", "ts_ms", "raw", "derived")

    def __init__(self, shape: msgspec.Struct, extra: dict | None, ts_ms: int, raw: bytes | None):
        self.shape = shape
        self.extra = extra          # unknown fields, kept in the row's `extra`
        self.ts_ms = ts_ms          # epoch ms
        self.raw = raw              # its own bytes (None: an element of a fast-decoded array, re-encoded on reject)
        self.derived: tuple = ()    # what Enrich adds

    def raw_bytes(self) -> bytes:
        """The bytes to keep in rejects for this reading."""
        return self.raw if self.raw is not None else msgspec.json.encode(self.shape)
