"""The simulated district's street grid: a jittered grid with a few missing blocks, like a
Chinese city's ring-and-grid core, as a qingzhi.core.roads.RoadNetwork."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon

from qingzhi.core.roads import RoadNetwork, largest_component

ROAD_STEMS = (
    "文一", "文二", "文三", "天目山", "莫干山", "古墩", "学院", "教工", "保俶", "曙光", "紫金港", "丰潭",
    "益乐", "花园", "登云", "湖墅", "体育场", "庆春", "凤起", "解放", "望江", "秋涛", "江南", "滨盛",
    "丰庆", "万塘", "西溪", "余杭塘", "五常", "留下", "转塘", "之江", "梅灵", "玉古", "黄姑山", "竞舟",
    "求是", "浙大", "三墩", "申花", "石祥", "东新", "新塘", "景芳", "钱江", "之浦", "复兴", "秋石",
)


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
    return largest_component(np.array(xy), np.array(edges, dtype=int), names)
