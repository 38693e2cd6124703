"""110 calls follow the three highs: hotspot places, evening hours, a few dominant types; repeats happen."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from shapely.geometry import Point
from shapely.ops import unary_union

from qingzhi.simulator.district import build_district
from qingzhi.simulator.incidents import TYPES, IncidentModel

START = datetime(2026, 11, 2, tzinfo=timezone.utc)  # a Monday


@pytest.fixture(scope="module")
def calls():
    d = build_district(11, (30.2741, 120.1551), 4)
    model = IncidentModel(d, np.random.default_rng(3))
    times = model.arrivals(START, START + timedelta(days=14), 12.0)
    return d, [model.draw(t) for t in times]


def test_same_seed_same_calls() -> None:
    d = build_district(2, (30.2741, 120.1551), 3)
    a, b = IncidentModel(d, np.random.default_rng(9)), IncidentModel(d, np.random.default_rng(9))
    ta = a.arrivals(START, START + timedelta(days=1), 20)
    assert ta == b.arrivals(START, START + timedelta(days=1), 20)
    assert [a.draw(t) for t in ta] == [b.draw(t) for t in ta]


def test_volume_matches_the_rate(calls) -> None:
    _, inc = calls
    assert abs(len(inc) - 12 * 24 * 14) < 0.1 * 12 * 24 * 14
    assert all(START <= i.ts < START + timedelta(days=14) for i in inc)


def test_hotspots_carry_a_large_share_on_a_small_area(calls) -> None:
    d, inc = calls
    rings = unary_union([Point(h.x, h.y).buffer(400) for h in d.hotspots])
    share = np.mean([rings.contains(Point(i.x, i.y)) for i in inc])
    area_share = rings.intersection(d.boundary).area / d.boundary.area
    assert share > 0.4 and area_share < 0.03, (share, area_share)


def test_evening_peak(calls) -> None:
    _, inc = calls
    tz = ZoneInfo("Asia/Shanghai")
    hours = Counter(i.ts.astimezone(tz).hour for i in inc)
    evening = sum(hours[h] for h in (18, 19, 20, 21))
    dawn = sum(hours[h] for h in (2, 3, 4, 5))
    assert evening > 4 * dawn
    assert max(hours, key=hours.get) in range(18, 23)
    weekend = sum(i.ts.astimezone(tz).weekday() >= 5 for i in inc) / len(inc)
    assert weekend > 2 / 7  # Fridays and weekends are busier


def test_few_types_dominate_and_fields_are_valid(calls) -> None:
    d, inc = calls
    counts = Counter(i.type for i in inc).most_common()
    top3 = sum(n for _, n in counts[:3]) / len(inc)
    assert top3 > 0.4 and len(counts) >= 12
    for i in inc:
        msg = i.message()
        assert set(msg) == {"id", "ts", "lat", "lon", "type", "priority", "address", "caller", "summary"}
        assert msg["type"] in TYPES and 1 <= msg["priority"] <= 4
        assert msg["caller"].isdigit() and len(msg["caller"]) == 11
        assert d.boundary.covers(Point(i.x, i.y)) and i.station is not None
    assert len({i.id for i in inc}) == len(inc)


def test_repeat_callers_and_places(calls) -> None:
    _, inc = calls
    by_caller = Counter(i.caller for i in inc)
    repeats = sum(n for n in by_caller.values() if n > 1)
    assert 0.03 < repeats / len(inc) < 0.15
    exact = Counter((round(i.x / 25), round(i.y / 25)) for i in inc)  # same 25 m cell, outside hotspots too
    assert sum(n for n in exact.values() if n > 1) > 0.05 * len(inc)
