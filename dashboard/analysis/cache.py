"""The analysis page's answers kept per filter set, so that the same question is computed once.

An answer is filed under what it was computed from: the arguments of the update, the version
of the pre-aggregates (migration 1770: a counter that every change of an_incident moves on) and
the study area's inputs (the stations' jurisdictions, the boundary file's modification time).
The version is read before the data, so an answer can be filed under an older version than its
data, never a newer one: a changed database is never answered from before the change.
One small LRU per Database (a test's database, a replica), dropped with it.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")
SIZE = 24  # answers kept per database (a year's hexagons are ~1 MB of Python objects)

_caches: weakref.WeakKeyDictionary[Any, OrderedDict[Hashable, Any]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


async def inputs_version(conn: asyncpg.Connection) -> tuple[str | None, str]:
    """The pre-aggregates' version (None before migration 1770) and a digest of the stations' jurisdictions."""
    row = await conn.fetchrow(
        """SELECT (SELECT value FROM an_meta WHERE key = 'version'),
                  (SELECT md5(string_agg(id || ':' || boundary::text, ';' ORDER BY id)) FROM stations
                   WHERE boundary IS NOT NULL)""")
    return row[0], row[1] or ""


def _file_version(path: Path | None) -> tuple[str, int] | None:
    """The boundary file's name and modification time (None without one, or when it is unreadable:
    the computation then reports the error itself)."""
    if path is None:
        return None
    try:
        return str(path), Path(path).stat().st_mtime_ns
    except OSError:
        return str(path), -1


def cached(db: Any, key: Hashable, study_area: Path | None, compute: Callable[[], T]) -> T:
    """`compute()`, or the answer already computed for `key` on this data and study area."""
    version = db.run(inputs_version)
    if version[0] is None:  # a schema without migration 1770: nothing tells when the data change
        return compute()
    full = (key, version, _file_version(study_area))
    with _lock:
        entries = _caches.setdefault(db, OrderedDict())
        if full in entries:
            entries.move_to_end(full)
            return entries[full]
    answer = compute()
    with _lock:
        entries[full] = answer
        while len(entries) > SIZE:
            entries.popitem(last=False)
    return answer
