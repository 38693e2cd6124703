"""Reading one CSV row of a generic incident file into an incidents record, and the police.uk value rules.

Each row is checked by small named rules; a row that breaks one raises RowError with the reason.
Types, categories, stations and callers' hashes follow qingzhi.core.incidents, as for every
other source. police.uk files are checked set-based (import_police_uk.py), one distinct month,
crime type or map point at a time, by police_month, police_type and coordinates below.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from qingzhi.config import Settings
from qingzhi.core.incidents import Derived, IncidentError, derive
from qingzhi.core.stations import StationLocator
from qingzhi.core.times import check_year
from qingzhi.errors import QingzhiError

FIELDS = ("id", "time", "from", "to", "lat", "lon", "type", "category", "station", "priority", "address",
          "summary", "caller")
REQUIRED = ("lat", "lon", "type")  # and a time; without an id column, ids are made from the rows' content
# Header names recognised for each field of the generic format (compared lower-case, '_'/' ' ignored).
GENERIC_ALIASES = {
    "id": ("id", "incident_id", "incident_number", "event_number", "call_id"),
    "time": ("time", "ts", "received", "received_at", "datetime", "timestamp", "call_time", "received_datetime"),
    "from": ("from", "occurred_from", "time_from", "start"),
    "to": ("to", "occurred_to", "time_to", "end"),
    "lat": ("lat", "latitude", "y"),
    "lon": ("lon", "lng", "long", "longitude", "x"),
    "type": ("type", "incident_type", "call_type", "category_code"),
    "category": ("category",),
    "station": ("station", "precinct", "district"),
    "priority": ("priority",),
    "address": ("address", "location"),
    "summary": ("summary", "description"),
    "caller": ("caller", "phone", "caller_number"),
}
INCIDENT_COLUMNS = ("id", "ts", "occurred_from", "occurred_to", "lat", "lon", "type", "category", "priority",
                    "address", "caller_hash", "summary", "station", "extra")
# Imported records are another system's history: stored closed, so that they never enter the live
# queue, its overdue alerts or the service figures (they carry no service record of ours).
IMPORTED = {"source": "'import'", "state": "'closed'"}
INSERTED_COLUMNS = ", ".join((*INCIDENT_COLUMNS, *IMPORTED))
INSERTED_VALUES = ", ".join(IMPORTED.values())
COMPARED = INCIDENT_COLUMNS[1:]  # every column but the key: what a re-import writes, and compares first


def compared(alias: str) -> str:
    """The COMPARED columns of `alias` as one row value, for IS [NOT] DISTINCT FROM."""
    return f"({', '.join(f'{alias}.{c}' for c in COMPARED)})"


# A row imported again with other values updates the incident; with the same values it is left alone
# (importing a file twice changes nothing the second time: no new row version, no `updated_at`, nothing
# queued for the aggregates). Only written rows come back from RETURNING.
ON_CONFLICT = (f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in COMPARED)}, "
               f"updated_at = now() WHERE {compared('incidents')} IS DISTINCT FROM {compared('EXCLUDED')}")
POLICE_UK_COLUMNS = ("Crime ID", "Month", "Longitude", "Latitude", "Crime type")
# extra (jsonb) keys of a police.uk row, and the columns they come from
POLICE_UK_EXTRA = (("lsoa_code", "LSOA code"), ("lsoa_name", "LSOA name"), ("outcome", "Last outcome category"),
                   ("context", "Context"), ("force", "Falls within"), ("crime_type", "Crime type"))
TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
                "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")


class RowError(ValueError):
    """This row cannot be imported; the message says why."""


class RowParser:
    """Turns one CSV row of the generic format into an incidents record (a tuple in INCIDENT_COLUMNS order) or raises RowError."""

    def __init__(self, settings: Settings, stations: StationLocator, mapping: tuple[str, ...]) -> None:
        self.stations, self.key = stations, settings.caller_key
        self.tz = ZoneInfo(settings.timezone)
        self.overrides = _parse_mapping(mapping)
        self.columns: dict[str, str] = {}
        self.seen: dict[str, int] = {}

    def bind(self, header: list[str], path: Path) -> None:
        """Resolve which column holds each field; a whole-file error if required ones are missing."""
        norm = {_norm(h): h for h in header}
        for name, aliases in GENERIC_ALIASES.items():
            found = next((norm[_norm(a)] for a in aliases if _norm(a) in norm), None)
            if found:
                self.columns[name] = found
        for name, column in self.overrides.items():
            if column not in header:
                raise QingzhiError(f"--map {name}={column}: the file has no column {column!r} (it has {header})")
            self.columns[name] = column
        if "id" not in self.columns:
            click.echo(f"{path.name}: no id column; each row's id is made from its content (stable on re-import)",
                       err=True)
        missing = [f for f in REQUIRED if f not in self.columns]
        if "time" not in self.columns and not {"from", "to"} <= self.columns.keys():
            missing.append("time (or from and to)")
        if missing:
            raise QingzhiError(f"{path}: no column for {', '.join(missing)}; name them with --map FIELD=COLUMN")

    def parse(self, row: dict[str, str]) -> tuple:
        """The record for this row, or RowError."""
        if None in row:
            raise RowError("extra cells: the row has more cells than the header")
        if any("\x00" in cell for cell in row.values() if cell):  # PostgreSQL text cannot hold it: the batch would fail
            raise RowError("a cell holds a NUL character")
        return self._generic(row)

    def _generic(self, row: dict[str, str]) -> tuple:
        get = lambda name: (row.get(self.columns[name]) or "").strip() if name in self.columns else ""  # noqa: E731
        ident = (get("id") or _fail("no id")) if "id" in self.columns else self._generated_id(row, "gen-")
        lat, lon = coordinates(get("lat"), get("lon"))
        start, end = self._time(get("from"), "from"), self._time(get("to"), "to")
        if start and end and end < start:
            raise RowError(f"window ends before it starts: from {get('from')} to {get('to')}")
        ts = self._time(get("time"), "time") or end or start or _fail("no time: give time, or from and to")
        d = self._derive(get("type") or _fail("no type"), lat, lon, caller=get("caller"), category=get("category"))
        priority = _priority(get("priority"))
        return (ident, ts, start, end, lat, lon, d.type, d.category, priority, get("address") or None,
                d.caller_hash, get("summary") or None, d.station or get("station") or None, None)

    def _derive(self, type_: str, lat: float, lon: float, *, caller: str | None = None,
                category: str | None = None) -> Derived:
        """The core's rules for type, category, station and caller hash; a broken rule is a bad row."""
        try:
            return derive(type_, lat, lon, caller=caller or None, caller_key=self.key, stations=self.stations,
                          category=category or None)
        except IncidentError as exc:
            raise RowError(str(exc)) from None

    def _generated_id(self, row: dict[str, str | None], prefix: str) -> str:
        """A stable id for a row without one: its content plus how often that content came before."""
        content = "|".join((v or "").strip() for v in row.values())
        n = self.seen.get(content, 0)
        self.seen[content] = n + 1
        return prefix + hashlib.sha1(f"{content}|{n}".encode()).hexdigest()[:24]

    def _time(self, text: str, name: str) -> datetime | None:
        if not text:
            return None
        value = _parse_time(text)
        if value is None:
            raise RowError(f"bad {name!r} field: not a time: {text!r}")
        try:
            return check_year(value if value.tzinfo else value.replace(tzinfo=self.tz), name)
        except QingzhiError as exc:
            raise RowError(str(exc)) from None


def _parse_time(text: str) -> datetime | None:
    if re.fullmatch(r"\d{9,13}", text):  # epoch seconds or milliseconds
        n = int(text)
        return datetime.fromtimestamp(n / 1000 if n > 10**11 else n, ZoneInfo("UTC"))
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def police_month(text: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """A police.uk month as the window [start, end) in local time, or RowError.

    police.uk publishes only the month: the whole month is the time window (spread by the
    analysis), and ts, which date filters use, is its start so the crime stays in its month.
    """
    month = text.strip()
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=tz)
        check_year(start, "month")
    except ValueError:
        raise RowError(f"bad month: {month!r} (want YYYY-MM)") from None
    except QingzhiError as exc:
        raise RowError(str(exc)) from None
    return start, (start + timedelta(days=32)).replace(day=1)


def police_type(crime: str) -> str:
    """The incident type of a police.uk crime type (`Anti-social behaviour` → `anti-social-behaviour`)."""
    crime = crime.strip() or _fail("no crime type")
    return re.sub(r"[^a-z0-9]+", "-", crime.lower()).strip("-")


def coordinates(lat_text: str, lon_text: str) -> tuple[float, float]:
    """(lat, lon) from a row's texts, or RowError saying what is wrong with them."""
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise RowError(f"bad coordinates: lat {lat_text!r}, lon {lon_text!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise RowError(f"coordinates out of range: lat {lat}, lon {lon}")
    if lat == 0 and lon == 0:
        raise RowError("coordinates 0,0 (a missing location)")
    return lat, lon


def _priority(text: str) -> int:
    if not text:
        return 3
    if text not in ("1", "2", "3", "4"):
        raise RowError(f"bad priority: {text!r} (want 1 to 4)")
    return int(text)


def _fail(reason: str) -> Any:
    raise RowError(reason)


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.lower())


def _parse_mapping(mapping: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in mapping:
        name, sep, column = item.partition("=")
        if not sep or name not in FIELDS or not column:
            raise QingzhiError(f"--map {item!r}: want FIELD=COLUMN with FIELD one of {', '.join(FIELDS)}")
        out[name] = column
    return out
