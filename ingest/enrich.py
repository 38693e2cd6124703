"""Stage 3: values derived from a reading: an incident's normalised type, category, jurisdiction and
caller hash (by the rules of qingzhi.core.incidents, as for every other source), a command uuid."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ingest.message import Msg
from qingzhi.core.callers import hash_subject
from qingzhi.core.incidents import IncidentError, derive
from qingzhi.core.stations import StationLocator


class Jurisdictions:
    """The station for an incident's point, from a StationLocator that housekeeping replaces on refresh."""

    def __init__(self) -> None:
        self._locator = StationLocator.from_rows([])

    def update(self, stations: Sequence[Mapping[str, Any]]) -> None:
        """Replace the table with `SELECT id, lat, lon, boundary FROM stations` rows."""
        self._locator = StationLocator.from_rows(stations)

    @property
    def locator(self) -> StationLocator:
        """The current lookup (the station whose area holds a point, else the nearest)."""
        return self._locator


def command_uuid(text: str) -> uuid.UUID | None:
    """The command id as a UUID (commands.id), or None when the device echoed something else."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


class Enrich:
    """Fill item.derived for incidents (category, station, caller hash; the type normalised in place)
    and acks (command uuid). An incident the core's rules refuse is rejected alone."""

    name = "enrich"

    def __init__(self, caller_key: str, jurisdictions: Jurisdictions):
        self.caller_key = caller_key
        self.jurisdictions = jurisdictions

    def handle(self, msg: Msg) -> Msg | None:
        """Add derived values; nothing to add for gps, cam and status (a check's subject: its keyed hash)."""
        if msg.kind == "incident":
            good = []
            for item in msg.items:
                s = item.shape
                try:
                    d = derive(s.type, s.lat, s.lon, caller=s.caller, caller_key=self.caller_key,
                               stations=self.jurisdictions.locator)
                except IncidentError as exc:
                    msg.reject(f"bad incident: {exc}", item.raw_bytes())
                    continue
                s.type = d.type
                item.derived = (d.category, d.station, d.caller_hash)
                good.append(item)
            msg.items = good
            return msg if good else None
        elif msg.kind == "ack":
            for item in msg.items:
                item.derived = (command_uuid(item.shape.id),)
        elif msg.kind == "check":
            for item in msg.items:
                item.derived = (hash_subject(self.caller_key, item.shape.subject),)
        return msg
