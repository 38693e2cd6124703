"""Stage 3: values derived from a reading: incident category, jurisdiction, caller hash, command uuid."""

from __future__ import annotations

import hashlib
import hmac
import math
import uuid
from collections.abc import Iterable
from typing import Any

from shapely.geometry import Point, shape
from shapely.errors import ShapelyError
from shapely.prepared import prep

from ingest.message import Msg


class Jurisdictions:
    """Which station's area a point lies in (stations.boundary), else the nearest station.

    Loaded from the database by the housekeeping task and replaced whole on refresh.
    """

    def __init__(self) -> None:
        self._areas: list[tuple[str, Any]] = []
        self._buildings: list[tuple[str, float, float]] = []

    def update(self, stations: Iterable[tuple[str, float, float, Any]]) -> None:
        """Replace the table with (id, lat, lon, boundary GeoJSON or None) rows."""
        areas, buildings = [], []
        for sid, lat, lon, boundary in stations:
            buildings.append((sid, lat, lon))
            if boundary:
                try:
                    areas.append((sid, prep(shape(boundary))))
                except (ValueError, TypeError, KeyError, AttributeError, ShapelyError):
                    continue   # a broken boundary: that station is found by distance only
        self._areas, self._buildings = areas, buildings

    def locate(self, lat: float, lon: float) -> str | None:
        """The station whose area holds (lat, lon); the nearest station otherwise; None without stations."""
        point = Point(lon, lat)
        for sid, area in self._areas:
            if area.contains(point):
                return sid
        if not self._buildings:
            return None
        k = math.cos(math.radians(lat))   # equirectangular distance is plenty to rank nearby stations
        return min(self._buildings, key=lambda b: (b[1] - lat) ** 2 + ((b[2] - lon) * k) ** 2)[0]


def caller_hash(number: str, key: str) -> str:
    """HMAC-SHA256 of the phone number (spaces and dashes removed): matchable, never readable."""
    digits = "".join(c for c in number if c not in " -()")
    return hmac.new(key.encode(), digits.encode(), hashlib.sha256).hexdigest()


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
                    caller_hash(s.caller, self.caller_key) if s.caller else None,
                )
        elif msg.kind == "ack":
            for item in msg.items:
                item.derived = (command_uuid(item.shape.id),)
        return msg
