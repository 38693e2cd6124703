"""What an incident's fields must be, and what is derived from them: one rule for the ingest
(110 calls), the importer (CSV files), the dispatch form and the simulator.

- type: a code (`theft.ebike`: lower-case letters, digits and `_`/`-` in dot-separated parts,
  written in any case and stored lower-case) or, from an outside feed, a name kept as written
  (`EMS: BACK PAINS/INJURY`, `anti-social-behaviour`); 1-64 characters after trimming, no
  control characters. Commanders entering an incident by hand must use a code.
- category: the type's first part (`theft.ebike` → `theft`), unless the source states one.
- station: the jurisdiction holding the point, else the nearest station (stations.py).
- caller: only the keyed hash of the normalised number (callers.py).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from qingzhi.core.callers import hash_caller
from qingzhi.core.stations import StationLocator
from qingzhi.core.vocab import PRIORITIES
from qingzhi.errors import QingzhiError

TYPE_MAX = 64
TEXT_MAX = 4000   # an address, caller or summary, by the form or by a 110 message
TYPE_CODE = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class IncidentError(QingzhiError):
    """An incident field breaks the rules above; the message says which and why."""


def normalise_type(text: str | None, *, code: bool = False) -> str:
    """The stored spelling of an incident type (see the module doc); `code=True` refuses names."""
    value = " ".join(text.split()) if isinstance(text, str) else ""
    if not value or len(value) > TYPE_MAX or _CONTROL.search(value):
        raise IncidentError(f"bad incident type {str(text)[:80]!r}: 1 to {TYPE_MAX} characters of text")
    if TYPE_CODE.match(value.lower()):
        return value.lower()
    if code:
        raise IncidentError(f"bad incident type {text!r}: lower-case codes like theft.ebike")
    return value


def category_of(type_: str, stated: str | None = None) -> str:
    """The category: what the source states, else the type's first part."""
    return (stated or "").strip() or type_.split(".", 1)[0]


def check_location(lat: float, lon: float) -> None:
    """WGS-84 degrees; (0, 0) is what a missing location looks like."""
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
        raise IncidentError(f"bad location {str(lat)[:40]}, {str(lon)[:40]}: not numbers")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        raise IncidentError(f"bad location {lat}, {lon}")


def check_priority(priority: int) -> int:
    """1 (most urgent) to 4."""
    if isinstance(priority, bool) or not isinstance(priority, int) or priority not in PRIORITIES:
        raise IncidentError(f"priority must be 1 to 4, not {priority}")
    return priority


class Derived(NamedTuple):
    """What the rules above derive from one incident's raw fields."""

    type: str
    category: str
    station: str | None
    caller_hash: str | None


def derive(
    type_: str, lat: float, lon: float, *, caller: str | None, caller_key: str, stations: StationLocator,
    category: str | None = None, code: bool = False,
) -> Derived:
    """Normalised type, category, station and caller hash of one incident."""
    check_location(lat, lon)
    typ = normalise_type(type_, code=code)
    return Derived(typ, category_of(typ, category), stations.locate(lat, lon), hash_caller(caller_key, caller))
