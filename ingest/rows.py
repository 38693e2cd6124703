"""Stage 4: readings → tuples in the column order of the staging tables (store.STAGING), text made safe."""

from __future__ import annotations

from ingest.message import ACK, CAM, CHECK, INCIDENT, POS, STATUS, Msg
from ingest.text import clean_opt, extra_json


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
                                  s.acc, s.alt, s.batt, extra_json(item.extra))))
            elif kind == "cam":
                out.append((CAM, (unit, station, item.ts_ms, recv, s.state, s.batt, s.storage,
                                  clean_opt(s.stream_url), extra_json(item.extra))))
            elif kind == "status":
                out.append((STATUS, (unit, station, item.ts_ms, s.ts is not None, recv, s.status,
                                     s.incident, s.sos, extra_json(item.extra))))
            elif kind == "ack":
                out.append((ACK, (s.id, item.derived[0], unit, station, item.ts_ms, recv)))
            elif kind == "check":
                out.append((CHECK, (s.id, unit, station, item.ts_ms, recv, s.lat, s.lon, s.kind, s.hit, item.derived[0],
                                    clean_opt(s.note), extra_json(item.extra))))
            else:
                category, jurisdiction, caller = item.derived
                out.append((INCIDENT, (s.id, item.ts_ms, recv, s.lat, s.lon, s.type.strip(),
                                       category, s.priority, clean_opt(s.address), caller, clean_opt(s.summary), jurisdiction,
                                       extra_json(item.extra))))
        return msg
