"""Which units to send: the nearest available ones, ranked by estimated time of arrival.

ETA = straight-line (haversine) distance / the unit kind's typical city speed (DispatchConfig.
speed_kmh), or the road distance over a configured network (qingzhi.core.roads) / the same speed.
The fleet is held in numpy arrays, patched with only the units whose `version` moved since
the last look, so a recommendation is one cheap query plus a vectorised top-K (argpartition).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dashboard.dispatch.queries import unit_rows
from qingzhi.core.dispatch_config import DispatchConfig
from qingzhi.core.vocab import SENDABLE, UNIT_KINDS, UNIT_STATUSES, UNKNOWN_KIND

EARTH_M = 6_371_008.8
KINDS = (*UNIT_KINDS, UNKNOWN_KIND)
# Sendable statuses first, so that "may be sent" is one comparison of codes; None: never reported.
STATUSES = (*SENDABLE, *(s for s in UNIT_STATUSES if s not in SENDABLE), None)
AVAILABLE = len(SENDABLE)  # status codes below this may be sent
FULL_RELOAD_S = 600.0  # patches never see a deleted unit; reload everything now and then


def haversine_m(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle distances in metres from one point to many."""
    p1, p2 = np.radians(lat), np.radians(lats)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lons - lon) / 2) ** 2
    return 2 * EARTH_M * np.arcsin(np.sqrt(a))


@dataclass
class Fleet:
    """Every positioned unit as parallel arrays (row i is one unit)."""

    ids: np.ndarray = field(default_factory=lambda: np.empty(0, object))
    station: np.ndarray = field(default_factory=lambda: np.empty(0, object))
    cam: np.ndarray = field(default_factory=lambda: np.empty(0, object))
    kind: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))  # index into KINDS
    status: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))  # index into STATUSES
    lat: np.ndarray = field(default_factory=lambda: np.empty(0))
    lon: np.ndarray = field(default_factory=lambda: np.empty(0))
    fix: np.ndarray = field(default_factory=lambda: np.empty(0))  # epoch seconds, nan if never
    index: dict[str, int] = field(default_factory=dict)
    version: int = 0

    def patch(self, rows: Iterable[Any]) -> None:
        """Apply changed unit rows (records with id, station, kind, status, lat, lon, fix_epoch, cam_state, version)."""
        rows = list(rows)
        new = [r["id"] for r in rows if r["id"] not in self.index]
        if new:
            n = len(new)
            for name in ("ids", "station", "cam"):
                setattr(self, name, np.concatenate([getattr(self, name), np.empty(n, object)]))
            self.kind = np.concatenate([self.kind, np.zeros(n, np.int8)])
            self.status = np.concatenate([self.status, np.full(n, len(STATUSES) - 1, np.int8)])
            for name in ("lat", "lon", "fix"):
                setattr(self, name, np.concatenate([getattr(self, name), np.full(n, np.nan)]))
            base = len(self.index)
            self.index.update({uid: base + i for i, uid in enumerate(new)})
        if not rows:
            return
        at = np.fromiter((self.index[r["id"]] for r in rows), np.int64, len(rows))
        self.ids[at] = [r["id"] for r in rows]
        self.station[at] = [r["station"] for r in rows]
        self.status[at] = [STATUSES.index(r["status"]) if r["status"] in STATUSES else len(STATUSES) - 1 for r in rows]
        self.cam[at] = [r["cam_state"] for r in rows]
        self.kind[at] = [KINDS.index(r["kind"] if r["kind"] in KINDS else UNKNOWN_KIND) for r in rows]
        self.lat[at] = [r["lat"] for r in rows]
        self.lon[at] = [r["lon"] for r in rows]
        self.fix[at] = [np.nan if r["fix_epoch"] is None else float(r["fix_epoch"]) for r in rows]
        self.version = max(self.version, max(r["version"] for r in rows))


class FleetCache:
    """The fleet of one dashboard process, refreshed from the database by version (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fleet = Fleet()
        self._loaded_at = 0.0
        self._previous = 0  # fleet version before the last refresh

    def get(self, db: Any) -> Fleet:
        """The fleet as of now: only units changed since the refresh before last are read again.

        Versions are taken when a row is written but become visible at commit, so a slow
        transaction can surface a number below the newest one seen; re-reading one refresh
        back catches it (and the periodic full reload catches anything else)."""
        with self._lock:
            if time.monotonic() - self._loaded_at > FULL_RELOAD_S:
                self._fleet, self._loaded_at, self._previous = Fleet(), time.monotonic(), 0
            since, self._previous = self._previous, self._fleet.version
            self._fleet.patch(db.run(unit_rows, since))
            return self._fleet


_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def fleet_cache(db: Any) -> FleetCache:
    """The fleet cache of this database handle (one per dashboard process)."""
    with _caches_lock:
        if db not in _caches:
            _caches[db] = FleetCache()
        return _caches[db]


def _smallest(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest values, in ascending order (argpartition, then sort only k)."""
    top = np.argpartition(values, k - 1)[:k] if k < len(values) else np.arange(len(values))
    return top[np.argsort(values[top], kind="stable")]


def _road_rerank(eta_line: np.ndarray, road_eta: Any, k: int, n_ok: int) -> tuple[np.ndarray, np.ndarray]:
    """Top k by road ETA, exact: road ETA is never below straight-line ETA, so once the next unit by
    straight line is slower than the k-th by road, no unit further down can enter the top k."""
    m = min(n_ok, max(4 * k, 20))
    while True:
        cand = _smallest(eta_line, m)
        by_road = road_eta(cand)
        order = np.argsort(by_road, kind="stable")[:k]
        kth = by_road[order[-1]]
        if m >= n_ok or np.partition(eta_line, m)[m] >= kth:
            return cand[order], by_road[order]
        m = min(n_ok, m * 2)


def recommend(
    fleet: Fleet, lat: float, lon: float, *, cfg: DispatchConfig, now: float, stale_after_s: float,
    k: int = 5, exclude: Iterable[str] = (), roads: Any = None, stations: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The k available units with the shortest ETA to (lat, lon): id, station, kind, status, camera,
    distance_m, eta_s (by road where `roads`, a qingzhi.core.roads.RoadTimes, is given). Units that are busy,
    off duty, offline, or whose last fix is older than `stale_after_s` (stale or lost) are never
    recommended; with `stations`, only units of those stations (the commander's scope)."""
    if not len(fleet.ids):
        return []
    speeds = np.array([cfg.speed_ms(kind) for kind in KINDS])[fleet.kind]
    ok = (fleet.status < AVAILABLE) & (now - fleet.fix <= stale_after_s)  # nan age compares False
    if stations is not None:
        ok &= np.isin(fleet.station, list(stations))
    for uid in exclude:
        if uid in fleet.index:
            ok[fleet.index[uid]] = False
    dist = haversine_m(lat, lon, fleet.lat, fleet.lon)
    eta = np.where(ok, dist / speeds, np.inf)
    n_ok = int(ok.sum())
    k = min(k, n_ok)
    if k == 0:
        return []
    if roads is None:
        top = _smallest(eta, k)
        metres, etas = dist[top], eta[top]
    else:
        def road_eta(idx: np.ndarray) -> np.ndarray:
            return roads.distances_m(lat, lon, fleet.lat[idx], fleet.lon[idx]) / speeds[idx]

        top, etas = _road_rerank(eta, road_eta, k, n_ok)
        metres = etas * speeds[top]
    return [
        {
            "id": fleet.ids[i], "station": fleet.station[i], "kind": KINDS[fleet.kind[i]],
            "status": STATUSES[fleet.status[i]], "cam": fleet.cam[i], "distance_m": float(m), "eta_s": float(e),
            "lat": float(fleet.lat[i]), "lon": float(fleet.lon[i]),
        }
        for i, m, e in zip(top, metres, etas)
        if np.isfinite(e)
    ]
