"""Against the real database: every incident is counted in the hexagon that contains it at every
resolution, and the page's hotspot figures follow the stations' jurisdictions."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import h3.api.basic_int as h3
import numpy as np
import pytest
from shapely.geometry import Point, shape

from dashboard.analysis import queries as q
from dashboard.analysis import updates as up
from dashboard.db import Database
from db_helpers import with_conn as run

TZ = "Asia/Shanghai"
SH = ZoneInfo(TZ)
INSERT = """INSERT INTO incidents (id, ts, lat, lon, type, category, priority, station)
            VALUES ($1, $2, $3, $4, $5, split_part($5, '.', 1), 3, $6)"""
DAY = datetime(2026, 3, 2, 12, 0, tzinfo=SH)


def border_points(n: int, res: int, seed: int = 5) -> list[tuple[float, float]]:
    """Points whose cell at `res` is not the parent of their res-10 cell (H3 cells do not nest)."""
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < n:
        lat, lon = 30.27 + float(rng.normal(0, 0.02)), 120.15 + float(rng.normal(0, 0.02))
        if h3.latlng_to_cell(lat, lon, res) != h3.cell_to_parent(h3.latlng_to_cell(lat, lon, 10), res):
            found.append((lat, lon))
    return found


def test_each_incident_in_the_hexagon_that_contains_it(database_url: str) -> None:
    rng = np.random.default_rng(2)
    points = border_points(40, 9) + border_points(40, 8, seed=6) + [
        (30.27 + float(a), 120.15 + float(b)) for a, b in zip(rng.normal(0, 0.02, 400), rng.normal(0, 0.02, 400),
                                                              strict=True)]

    async def load(conn: asyncpg.Connection) -> None:
        await conn.executemany(INSERT, [(f"P{i}", DAY + timedelta(minutes=i), la, lo, "theft.ebike", "xh")
                                        for i, (la, lo) in enumerate(points)])

    run(database_url, load)
    db = Database(database_url)
    try:
        db.run(q.ensure_fresh, TZ)
        f = q.Filters(date(2026, 3, 1), date(2026, 3, 31))
        for res in (8, 9, 10):
            counts = db.run(q.cell_counts, f, res)
            assert counts == dict(Counter(h3.latlng_to_cell(la, lo, res) for la, lo in points))
            # the counted hexagon really contains the point (its own boundary, not h3's indexing)
            for la, lo in points[:80]:
                cell = h3.latlng_to_cell(la, lo, res)
                assert shape(h3.cells_to_geo([cell])).buffer(1e-9).contains(Point(lo, la))
            # the few-cell queries (covering index on the res-10 cell) find the border incidents too
            border = sorted({h3.latlng_to_cell(la, lo, res) for la, lo in points[:80]})
            assert db.run(q.counts_in_cells, f, res, border) == {c: counts[c] for c in border}
            one = h3.latlng_to_cell(*points[0], res)
            ids = {r["id"] for r in db.run(q.cell_incidents, f, res, one)}
            assert ids == {f"P{i}" for i, p in enumerate(points) if h3.latlng_to_cell(*p, res) == one}
        # 80 chosen points are counted in a hexagon other than their res-10 cell's parent
        parents9 = Counter(h3.cell_to_parent(h3.latlng_to_cell(la, lo, 10), 9) for la, lo in points)
        assert parents9 != db.run(q.cell_counts, f, 9)
    finally:
        db.close()


def square(lon0: float, lat0: float, size: float) -> str:
    ring = [[lon0, lat0], [lon0 + size, lat0], [lon0 + size, lat0 + size], [lon0, lat0 + size], [lon0, lat0]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def test_hotspot_figures_follow_the_jurisdictions(database_url: str, tmp_path: Path) -> None:
    """Two stations' squares (0.2° each, side by side): the area is their union; two strays are outside."""
    rng = np.random.default_rng(8)
    inside = [(30.27 + float(a), 120.25 + float(b)) for a, b in zip(rng.normal(0, 0.01, 300), rng.normal(0, 0.01, 300),
                                                                     strict=True)]
    stray = [(30.70, 120.15), (30.271, 120.46)]  # far away, and just east of the east station
    times = [DAY + timedelta(hours=2 * i) for i in range(len(inside) + len(stray))]

    async def load(conn: asyncpg.Connection) -> None:
        await conn.executemany(INSERT, [(f"I{i}", t, la, lo, "fight.street", "xh")
                                        for i, ((la, lo), t) in enumerate(zip(inside + stray, times, strict=True))])
        await conn.execute("INSERT INTO stations (id, name_zh, name_en, lat, lon, boundary) VALUES "
                           "('w', '西', 'W', 30.27, 120.15, $1::jsonb), ('e', '东', 'E', 30.27, 120.35, $2::jsonb)",
                           square(120.05, 30.17, 0.2), square(120.25, 30.17, 0.2))

    run(database_url, load)
    db = Database(database_url)
    try:
        f = q.Filters(date(2026, 3, 1), date(2026, 3, 31))
        spots = up.hotspots(db, TZ, f, "previous", 9)
        assert spots.area["source"] == "jurisdictions" and spots.area["detail"] == "2 station jurisdictions"
        rect = 6371.0072**2 * np.radians(0.4) * (np.sin(np.radians(30.37)) - np.sin(np.radians(30.17)))
        assert spots.area["km2"] == pytest.approx(rect, rel=1e-3)
        assert (spots.total, spots.outside) == (300, 2)
        # the quality's N: the test part's incidents inside the area
        test_half = sum(1 for t in times[:300] if t.date() >= f.split()[1].start)
        quality = up.quality(db, TZ, f, (9,))
        assert {m for m, _, _ in quality} == {"counts", "gi", "kde"} and 0 < test_half < 300
        assert [r.total for _, _, r in quality] == [test_half] * 9, (test_half, quality)

        # a boundary file is used only when no station has a jurisdiction
        area_file = tmp_path / "area.geojson"
        area_file.write_text(square(120.0, 30.0, 0.5))
        run(database_url, lambda conn: conn.execute("UPDATE stations SET boundary = NULL"))
        with_file = up.hotspots(db, TZ, f, "previous", 9, study_area=area_file)
        assert (with_file.area["source"], with_file.area["detail"]) == ("boundary_file", "area.geojson")
        assert (with_file.total, with_file.outside) == (301, 1)  # only the far one is outside
        hull = up.hotspots(db, TZ, f, "previous", 9)
        assert hull.area["source"] == "concave_hull" and hull.outside == 2 and hull.area["km2"] < 100  # both strays
    finally:
        db.close()
