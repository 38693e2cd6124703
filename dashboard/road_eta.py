"""Road-network distances for the recommender, where a road network is configured
(dispatch setting `roads`: a GeoJSON file of LineStrings in the data directory, as `qingzhi simulate --roads` reads).

One Dijkstra from the incident's nearest road node gives the road distance to every node
(the graph is undirected); a unit's distance is that of its nearest node plus the short
straight walks on and off the network. Networks are cached per file and modification time,
the distance fields per incident node.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import dijkstra

from qingzhi.datafiles import data_file
from qingzhi.errors import QingzhiError
from qingzhi.simulator.geo import Projection
from qingzhi.simulator.roads import RoadNetwork, load_geojson

log = logging.getLogger(__name__)
_lock = threading.Lock()


class RoadTimes:
    """Road distances from an incident to many units over one network."""

    def __init__(self, net: RoadNetwork, proj: Projection) -> None:
        self.net, self.proj = net, proj
        self._from_node = lru_cache(maxsize=64)(self._dijkstra)

    def _dijkstra(self, node: int) -> np.ndarray:
        return dijkstra(self.net.graph, directed=False, indices=node)

    def distances_m(self, lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """Metres by road from (lat, lon) to each (lats[i], lons[i]); inf where no road connects them."""
        x, y = self.proj.to_xy(lat, lon)
        off, node = self.net._tree.query((float(x), float(y)))
        field = self._from_node(int(node))
        ux, uy = self.proj.to_xy(np.asarray(lats), np.asarray(lons))
        on, nodes = self.net._tree.query(np.column_stack([ux, uy]))
        return field[nodes] + on + off


@lru_cache(maxsize=4)
def _load(path: str, mtime: float, lat0: float, lon0: float) -> RoadTimes:
    proj = Projection(lat0, lon0)
    return RoadTimes(load_geojson(path, proj), proj)


def road_times(name: str | None, center: tuple[float, float], data_dir: str | None) -> RoadTimes | None:
    """The configured network (a file in the data directory), or None (straight-line ETAs) when none
    is set or it cannot be read or lies outside the data directory."""
    if not name:
        return None
    try:
        path = data_file(data_dir, name)
        with _lock:
            return _load(str(path), path.stat().st_mtime, *center)
    except (OSError, QingzhiError) as exc:
        log.warning("road network %s not used, straight-line ETAs instead: %s", name, exc)
        return None
