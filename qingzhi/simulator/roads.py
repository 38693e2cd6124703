"""The street network units drive on: a graph of road nodes in local metres.

Either generated (a jittered street grid with a few missing blocks, like a Chinese city's
ring-and-grid core) or loaded from a GeoJSON file of LineStrings. Routing is Dijkstra from
scipy.sparse.csgraph, optionally restricted to the nodes of one patrol zone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree
from shapely.geometry import Polygon

from qingzhi.errors import QingzhiError
from qingzhi.simulator.geo import Projection

ROAD_STEMS = (
    "文一", "文二", "文三", "天目山", "莫干山", "古墩", "学院", "教工", "保俶", "曙光", "紫金港", "丰潭",
    "益乐", "花园", "登云", "湖墅", "体育场", "庆春", "凤起", "解放", "望江", "秋涛", "江南", "滨盛",
    "丰庆", "万塘", "西溪", "余杭塘", "五常", "留下", "转塘", "之江", "梅灵", "玉古", "黄姑山", "竞舟",
    "求是", "浙大", "三墩", "申花", "石祥", "东新", "新塘", "景芳", "钱江", "之浦", "复兴", "秋石",
)


@dataclass
class RoadNetwork:
    """Nodes (x, y metres), undirected edges with lengths, and a street name per edge."""

    xy: np.ndarray                      # (n, 2) float
    edges: np.ndarray                   # (m, 2) int
    names: list[str]                    # street name of each edge
    graph: csr_matrix = field(init=False)
    _tree: cKDTree = field(init=False)
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


def _largest_component(xy: np.ndarray, edges: np.ndarray, names: list[str]) -> RoadNetwork:
    """Keep the largest connected piece and renumber its nodes."""
    net = RoadNetwork(xy, edges, names)
    _, labels = connected_components(net.graph, directed=False)
    keep = labels == np.bincount(labels).argmax()
    new_id = np.cumsum(keep) - 1
    ok = keep[edges[:, 0]] & keep[edges[:, 1]]
    return RoadNetwork(xy[keep], new_id[edges[ok]], [n for n, k in zip(names, ok) if k])


def generate_grid(rng: np.random.Generator, district: Polygon, spacing: float = 300.0) -> RoadNetwork:
    """A jittered street grid covering the district; ~6 % of blocks merged (missing links)."""
    minx, miny, maxx, maxy = district.bounds
    cols = np.arange(minx, maxx + spacing, spacing)
    rows = np.arange(miny, maxy + spacing, spacing)
    inside = district  # nodes strictly inside, so every road point has a jurisdiction
    shapely.prepare(inside)
    stems = rng.permutation(len(ROAD_STEMS))
    row_name = [ROAD_STEMS[stems[i % len(stems)]] + "路" for i in range(len(rows))]
    col_name = [ROAD_STEMS[stems[-1 - j % len(stems)]] + ("街" if j % 3 else "大道") for j in range(len(cols))]
    index: dict[tuple[int, int], int] = {}
    xy = []
    for i, y in enumerate(rows):
        for j, x in enumerate(cols):
            px, py = x + rng.normal(0, spacing * 0.08), y + rng.normal(0, spacing * 0.08)
            if shapely.contains_xy(inside, px, py):
                index[(i, j)] = len(xy)
                xy.append((px, py))
    edges, names = [], []
    for (i, j), a in index.items():
        for (di, dj), name in (((0, 1), row_name[i]), ((1, 0), col_name[j])):
            b = index.get((i + di, j + dj))
            if b is not None and rng.random() > 0.06:
                edges.append((a, b))
                names.append(name)
    return _largest_component(np.array(xy), np.array(edges, dtype=int), names)


def load_geojson(path: str | Path, proj: Projection) -> RoadNetwork:
    """Roads from a GeoJSON FeatureCollection of LineString / MultiLineString features."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
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
    return _largest_component(np.column_stack([x, y]), np.array(edges, dtype=int), names)
