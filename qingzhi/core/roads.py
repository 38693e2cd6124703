"""The road network: a graph of road nodes in local metres, for road-distance ETAs in dispatch
and for the simulator's units to drive on.

Loaded from a GeoJSON file of LineStrings (dispatch setting `roads`, a file in QZ_DATA_DIR;
`qingzhi simulate --roads`) or built by the simulator (its street grid). Routing is Dijkstra from
scipy.sparse.csgraph, optionally restricted to the nodes of one patrol zone. RoadTimes answers "how far by road
from this incident to each of these units", cached per file (road_times).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree
from shapely.geometry import Polygon

from qingzhi.core.geo import Projection
from qingzhi.datafiles import data_file
from qingzhi.errors import QingzhiError

log = logging.getLogger(__name__)
_lock = threading.Lock()


@dataclass
class RoadNetwork:
    """Nodes (x, y metres), undirected edges with lengths, and a street name per edge."""

    xy: np.ndarray                      # (n, 2) float
    edges: np.ndarray                   # (m, 2) int
    names: list[str]                    # street name of each edge
    graph: csr_matrix = field(init=False)
    _tree: cKDTree = field(init=False)  # nearest-node lookups: use nearest() / snap()
    _node_name: list[str] = field(init=False)

    def __post_init__(self) -> None:
        a, b = self.edges[:, 0], self.edges[:, 1]
        length = np.maximum(np.hypot(*(self.xy[a] - self.xy[b]).T), 0.1)
        n = len(self.xy)
        self.graph = coo_matrix(
            (np.concatenate([length, length]), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n)
        ).tocsr()
        self._tree = cKDTree(self.xy)
        self._node_name = [""] * n
        for (i, j), name in zip(self.edges.tolist(), self.names):
            self._node_name[i] = self._node_name[i] or name
            self._node_name[j] = self._node_name[j] or name

    def nearest(self, x: float, y: float) -> int:
        """The road node closest to (x, y)."""
        return int(self._tree.query((x, y))[1])

    def snap(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For many points: the distance (m) to their nearest road node, and that node."""
        dist, nodes = self._tree.query(np.column_stack([np.atleast_1d(x), np.atleast_1d(y)]))
        return dist, nodes

    def distances_from(self, node: int) -> np.ndarray:
        """Metres by road from `node` to every node (inf where not connected)."""
        return dijkstra(self.graph, directed=False, indices=node)

    def street(self, node: int) -> str:
        """A street name at this node (for addresses)."""
        return self._node_name[node]

    def route(self, src: int, dst: int, nodes: np.ndarray | None = None) -> list[int]:
        """Shortest path src → dst as node ids, within `nodes` (sorted ids) if given; [src] if unreachable."""
        if src == dst:
            return [src]
        graph, local = self.graph, None
        if nodes is not None:
            graph = self.graph[nodes][:, nodes]
            local = {int(v): k for k, v in enumerate(nodes)}
            src_l, dst_l = local[src], local[dst]
        else:
            src_l, dst_l = src, dst
        _, pred = dijkstra(graph, indices=src_l, return_predecessors=True)
        if pred[dst_l] < 0:
            return [src]
        path = [dst_l]
        while path[-1] != src_l:
            path.append(int(pred[path[-1]]))
        path.reverse()
        return [int(nodes[p]) for p in path] if nodes is not None else path

    def nodes_within(self, poly: Polygon) -> np.ndarray:
        """Sorted ids of the nodes inside poly that form its largest connected road piece."""
        ids = np.flatnonzero(shapely.contains_xy(poly, self.xy[:, 0], self.xy[:, 1]))
        if len(ids) < 2:
            return ids
        _, labels = connected_components(self.graph[ids][:, ids], directed=False)
        return ids[labels == np.bincount(labels).argmax()]


def largest_component(xy: np.ndarray, edges: np.ndarray, names: list[str]) -> RoadNetwork:
    """Keep the largest connected piece and renumber its nodes."""
    net = RoadNetwork(xy, edges, names)
    _, labels = connected_components(net.graph, directed=False)
    keep = labels == np.bincount(labels).argmax()
    new_id = np.cumsum(keep) - 1
    ok = keep[edges[:, 0]] & keep[edges[:, 1]]
    return RoadNetwork(xy[keep], new_id[edges[ok]], [n for n, k in zip(names, ok) if k])


def load_geojson(path: str | Path, proj: Projection) -> RoadNetwork:
    """Roads from a GeoJSON FeatureCollection of LineString / MultiLineString features."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # (nesting too deep)
        raise QingzhiError(f"cannot read road network {path}: {exc}") from None
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise QingzhiError(f"road network {path}: not a GeoJSON FeatureCollection")
    index: dict[tuple[float, float], int] = {}
    lonlat: list[tuple[float, float]] = []
    edges, names = [], []

    def node(pt: list) -> int:
        key = (round(float(pt[0]), 6), round(float(pt[1]), 6))
        if key not in index:
            index[key] = len(lonlat)
            lonlat.append(key)
        return index[key]

    for k, feat in enumerate(features):
        geom = (feat or {}).get("geometry") or {}
        name = str(((feat or {}).get("properties") or {}).get("name") or "")
        lines = {"LineString": [geom.get("coordinates")], "MultiLineString": geom.get("coordinates")}.get(geom.get("type"))
        if lines is None:
            continue  # points, polygons: not roads
        try:
            for line in lines:
                ids = [node(pt) for pt in line]
                for a, b in zip(ids, ids[1:]):
                    if a != b:
                        edges.append((a, b))
                        names.append(name)
        except (TypeError, ValueError, IndexError):
            raise QingzhiError(f"road network {path}: feature {k} has bad coordinates") from None
    if len(edges) < 3:
        raise QingzhiError(f"road network {path}: fewer than 3 road segments")
    lon, lat = np.array(lonlat).T
    x, y = proj.to_xy(lat, lon)
    return largest_component(np.column_stack([x, y]), np.array(edges, dtype=int), names)


class RoadTimes:
    """Road distances from an incident to many units over one network."""

    def __init__(self, net: RoadNetwork, proj: Projection) -> None:
        self.net, self.proj = net, proj
        self._from_node = lru_cache(maxsize=64)(net.distances_from)

    def distances_m(self, lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """Metres by road from (lat, lon) to each (lats[i], lons[i]); inf where no road connects them.
        One Dijkstra per incident node (cached); a unit's distance is its nearest node's plus the
        short straight walks on and off the network."""
        x, y = self.proj.to_xy(lat, lon)
        (off,), (node,) = self.net.snap(x, y)
        field_m = self._from_node(int(node))
        on, nodes = self.net.snap(*self.proj.to_xy(np.asarray(lats), np.asarray(lons)))
        return field_m[nodes] + on + off


@lru_cache(maxsize=4)
def _load(path: str, mtime: float, lat0: float, lon0: float) -> RoadTimes:
    proj = Projection(lat0, lon0)
    return RoadTimes(load_geojson(path, proj), proj)


def road_times(name: str | None, center: tuple[float, float], data_dir: str | None) -> RoadTimes | None:
    """The configured network, a file in the data directory (cached per file and modification time),
    or None (straight-line ETAs) when none is set, it cannot be read or it lies outside data_dir."""
    if not name:
        return None
    try:
        path = data_file(data_dir, name)
        with _lock:
            return _load(str(path), path.stat().st_mtime, *center)
    except (OSError, QingzhiError) as exc:
        log.warning("road network %s not used, straight-line ETAs instead: %s", name, exc)
        return None
