"""A deterministic district: boundary, police stations with jurisdictions, patrol zones, roads, hotspots.

Jurisdictions are the Voronoi cells of the station sites clipped to the district, so they tile
it exactly; each jurisdiction is split the same way into 4–8 patrol zones (beats).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.affinity import scale
from shapely.ops import voronoi_diagram
from shapely.geometry import MultiPoint, Point, Polygon

from qingzhi.errors import QingzhiError
from qingzhi.core.geo import Projection
from qingzhi.core.roads import RoadNetwork, load_geojson
from qingzhi.simulator.streets import generate_grid

DISTRICT_RADIUS_M = 8000.0   # about 200 km², a county-sized urban district

STATION_NAMES = (
    ("wenxin", "文新派出所", "Wenxin Station"), ("beishan", "北山派出所", "Beishan Station"),
    ("xixi", "西溪派出所", "Xixi Station"), ("lingyin", "灵隐派出所", "Lingyin Station"),
    ("gudang", "古荡派出所", "Gudang Station"), ("cuiyuan", "翠苑派出所", "Cuiyuan Station"),
    ("jiangcun", "蒋村派出所", "Jiangcun Station"), ("zhuantang", "转塘派出所", "Zhuantang Station"),
    ("sandun", "三墩派出所", "Sandun Station"), ("liuxia", "留下派出所", "Liuxia Station"),
    ("xihu", "西湖派出所", "Xihu Station"), ("zhijiang", "之江派出所", "Zhijiang Station"),
)

# Places that draw a large share of calls ("three highs": high-incidence places).
HOTSPOT_KINDS = (
    ("night_market", "夜市", "night market", 0.30, ("theft.ebike", "theft.pickpocket", "dispute.fight", "dispute.commercial")),
    ("station_square", "火车站站前广场", "station square", 0.24, ("theft.pickpocket", "fraud.scam", "dispute.fight", "help.lost_person")),
    ("bar_street", "酒吧街", "bar street", 0.20, ("dispute.fight", "public.drunk", "noise.complaint", "traffic.accident")),
    ("mall", "商业广场", "shopping mall", 0.14, ("theft.shoplifting", "theft.ebike", "fraud.scam", "help.lost_person")),
    ("urban_village", "城中村", "urban village", 0.12, ("dispute.family", "theft.burglary", "theft.ebike", "noise.complaint")),
)


@dataclass(frozen=True)
class Station:
    """A police station (派出所) and its jurisdiction."""

    id: str
    name_zh: str
    name_en: str
    x: float
    y: float
    area: Polygon


@dataclass(frozen=True)
class Zone:
    """A patrol zone (beat) and the road nodes a unit patrolling it drives on."""

    id: str
    station: str
    name_zh: str
    name_en: str
    area: Polygon
    nodes: np.ndarray


@dataclass(frozen=True)
class Hotspot:
    """A place that attracts many calls, with the incident types typical of it."""

    kind: str
    name_zh: str
    name_en: str
    x: float
    y: float
    weight: float
    types: tuple[str, ...]


@dataclass(frozen=True)
class District:
    """Everything about the simulated place that does not move."""

    proj: Projection
    boundary: Polygon
    roads: RoadNetwork
    stations: tuple[Station, ...]
    zones: tuple[Zone, ...]
    hotspots: tuple[Hotspot, ...]

    def station_of(self, x: float, y: float) -> str | None:
        """The jurisdiction a point lies in."""
        for st in self.stations:
            if st.area.covers(Point(x, y)):
                return st.id
        return None


def _spread_points(rng: np.random.Generator, area: Polygon, n: int, min_gap: float) -> np.ndarray:
    """n random points inside area, kept apart by min_gap where possible (shrinking it if not)."""
    minx, miny, maxx, maxy = area.bounds
    shapely.prepare(area)
    pts: list[tuple[float, float]] = []
    tries = 0
    while len(pts) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        tries += 1
        if tries % 500 == 0:
            min_gap *= 0.8
        if shapely.contains_xy(area, x, y) and all((x - a) ** 2 + (y - b) ** 2 >= min_gap**2 for a, b in pts):
            pts.append((x, y))
    return np.array(pts)


def _voronoi_cells(sites: np.ndarray, area: Polygon) -> list[Polygon]:
    """The Voronoi cell of each site clipped to area, in the order of sites."""
    cells = voronoi_diagram(MultiPoint(sites), envelope=area).geoms
    out = []
    for x, y in sites:
        cell = next(c for c in cells if c.covers(Point(x, y)))
        clipped = cell.intersection(area)
        if clipped.geom_type != "Polygon":  # a sliver split off: keep the piece holding the site
            clipped = max(getattr(clipped, "geoms", [clipped]), key=lambda g: g.area)
        out.append(clipped)
    return out


def build_district(seed: int, center: tuple[float, float], n_stations: int, roads: str | Path | None = None) -> District:
    """The district for this seed: same seed and inputs, same district."""
    if not 1 <= n_stations <= len(STATION_NAMES):
        raise QingzhiError(f"--stations must be between 1 and {len(STATION_NAMES)}")
    rng = np.random.default_rng(seed)
    proj = Projection(*center)
    if roads:
        net = load_geojson(roads, Projection(*center))
        hull = MultiPoint(net.xy).convex_hull.buffer(150.0)
        boundary = shapely.simplify(hull, 20.0)
    else:
        # a slightly oval district, rotated by nothing so that the grid stays north-up
        boundary = scale(Point(0, 0).buffer(DISTRICT_RADIUS_M, quad_segs=24), xfact=1.0 + rng.uniform(0, 0.25))
        net = generate_grid(rng, boundary)

    radius = np.sqrt(boundary.area / np.pi)
    sites = _spread_points(rng, boundary.buffer(-radius * 0.15), n_stations, radius * 0.6)
    names = [STATION_NAMES[i] for i in rng.permutation(len(STATION_NAMES))[:n_stations]]
    stations, zones = [], []
    for (sid, zh, en), (sx, sy), area in zip(names, sites, _voronoi_cells(sites, boundary)):
        stations.append(Station(sid, zh, en, float(sx), float(sy), area))
        k = int(rng.integers(4, 9))
        zsites = _spread_points(rng, area, k, np.sqrt(area.area / k) * 0.6)
        for z, zarea in enumerate(_voronoi_cells(zsites, area), start=1):
            zones.append(Zone(f"{sid}-z{z}", sid, f"{zh[:-3]}{z}号巡区", f"{en.split()[0]} beat {z}", zarea,
                              net.nodes_within(zarea)))

    hotspots = []
    for kind, zh, en, weight, types in HOTSPOT_KINDS:
        hx, hy = net.xy[rng.integers(len(net.xy))] if not hotspots else _far_node(rng, net, hotspots)
        hotspots.append(Hotspot(kind, zh, en, float(hx), float(hy), weight, types))
    return District(proj, boundary, net, tuple(stations), tuple(zones), tuple(hotspots))


def _far_node(rng: np.random.Generator, net: RoadNetwork, taken: list[Hotspot]) -> np.ndarray:
    """A road node at least 1.5 km from the hotspots already placed (best of a few draws)."""
    best, best_d = net.xy[0], -1.0
    for _ in range(30):
        p = net.xy[rng.integers(len(net.xy))]
        d = min(np.hypot(p[0] - h.x, p[1] - h.y) for h in taken)
        if d >= 1500.0:
            return p
        if d > best_d:
            best, best_d = p, d
    return best
