"""Stage 3: values derived from a reading: incident category, jurisdiction, caller hash, command uuid."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ingest.message import Msg
from qingzhi.callers import hash_caller
from qingzhi.stations import StationLocator


class Jurisdictions:
    """The station for an incident's point, from a StationLocator that housekeeping replaces on refresh."""

    def __init__(self) -> None:
        self._locator = StationLocator.from_rows([])

    def update(self, stations: Sequence[Mapping[str, Any]]) -> None:
        """Replace the table with `SELECT id, lat, lon, boundary FROM stations` rows."""
        self._locator = StationLocator.from_rows(stations)

    def locate(self, lat: float, lon: float) -> str | None:
        """The station whose area holds (lat, lon); the nearest station otherwise; None without stations."""
        return self._locator.locate(lat, lon)


def command_uuid(text: str) -> uuid.UUID | None:
    """The command id as a UUID (commands.id), or None when the device echoed something else."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


class Enrich:
    """Fill item.derived for incidents (category, station, caller hash) and acks (command uuid)."""

    name = "enrich"

    def __init__(self, caller_key: str, jurisdictions: Jurisdictions):
        self.caller_key = caller_key
        self.jurisdictions = jurisdictions

    def handle(self, msg: Msg) -> Msg:
        """Add derived values; nothing to add for gps, cam and status."""
        if msg.kind == "incident":
            for item in msg.items:
                s = item.shape
                item.derived = (
                    s.type.strip().split(".", 1)[0],
                    self.jurisdictions.locate(s.lat, s.lon),
                    hash_caller(self.caller_key, s.caller),
                )
        elif msg.kind == "ack":
            for item in msg.items:
                item.derived = (command_uuid(item.shape.id),)
        return msg
