"""Stage 4: readings → tuples in the column order of the staging tables (store.STAGING)."""

from __future__ import annotations

import itertools

import msgspec

from ingest.message import ACK, CAM, INCIDENT, POS, STATUS, Msg

_encode = msgspec.json.Encoder().encode
_seq = itertools.count()   # arrival order, so that the last of several updates to one incident wins


def _json(extra: dict | None) -> str | None:
    return None if extra is None else _encode(extra).decode()


class Rows:
    """Append (staging table, row) pairs to msg.rows; the writer copies them in batches."""

    name = "rows"

    def handle(self, msg: Msg) -> Msg:
        """One row per reading."""
        kind, unit, station, recv = msg.kind, msg.unit, msg.station, msg.recv_ms
        out = msg.rows
        for item in msg.items:
            s = item.shape
            if kind == "gps":
                out.append((POS, (unit, station, item.ts_ms, recv, s.lat, s.lon, s.speed, s.heading,
                                  s.acc, s.alt, s.batt, _json(item.extra))))
            elif kind == "cam":
                out.append((CAM, (unit, station, item.ts_ms, recv, s.state, s.batt, s.storage,
                                  s.stream_url, _json(item.extra))))
            elif kind == "status":
                out.append((STATUS, (unit, station, item.ts_ms, s.ts is not None, recv, s.status,
                                     s.incident, s.sos, _json(item.extra))))
            elif kind == "ack":
                out.append((ACK, (s.id, item.derived[0], unit, station, item.ts_ms, recv)))
            else:
                category, jurisdiction, caller = item.derived
                out.append((INCIDENT, (next(_seq), s.id, item.ts_ms, recv, s.lat, s.lon, s.type.strip(),
                                       category, s.priority, s.address, caller, s.summary, jurisdiction,
                                       _json(item.extra))))
        return msg
