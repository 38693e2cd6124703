"""Presence and duty fulfilment on crafted position histories with known answers: the pure counting,
the hourly fold into presence_day by the duty loop, and daily_figures for briefings."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np
import pandas as pd
import pytest

from dispatch_fixtures import run_db
from duty_fixtures import two_stations, zone_center
from qingzhi.config import Settings
from qingzhi.core import levels, presence
from qingzhi.core.actor import Actor
from qingzhi.core.presence import ZoneSpec, figures, present_counts
from qingzhi.core.response_plan import load_plan
from qingzhi.partitions import ensure_partitions

T0 = pd.Timestamp("2026-11-30T02:00:00Z")
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
OTHER = {"type": "Polygon", "coordinates": [[[2, 0], [3, 0], [3, 1], [2, 1], [2, 0]]]}


def _fixes(rows: list[tuple[str, int, float, float]]) -> pd.DataFrame:
    """(unit, minute offset, lon, lat)."""
    return pd.DataFrame([{"unit": u, "ts": T0 + pd.Timedelta(minutes=m), "lon": x, "lat": y} for u, m, x, y in rows])


def _statuses(rows: list[tuple[str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"unit": u, "ts": T0 + pd.Timedelta(minutes=m), "status": s} for u, m, s in rows])


def test_counts_follow_fixes_staleness_statuses_and_zones() -> None:
    minutes = pd.date_range(T0, periods=60, freq="min")
    fixes = _fixes([("a", m, .5 if m < 30 else 2.5, .5) for m in range(60)]   # a: zone 0 for 30 min, then zone 1
                   + [("b", 0, .5, .5)]                                      # b: one fix, stale after 5 min
                   + [("c", m, .5, .5) for m in range(60)])                  # c: on scene from minute 10
    statuses = _statuses([("a", -5, "patrolling"), ("b", -5, "available"), ("c", -5, "patrolling"),
                          ("c", 10, "on_scene")])
    counts = present_counts(fixes, statuses, [ZoneSpec("Z0", "S", SQUARE, 1), ZoneSpec("Z1", "S", OTHER, 2)], minutes)
    assert counts[0, 0] == 3 and counts[0, 5] == 3 and counts[0, 6] == 2      # b's fix is > 5 min old at minute 6
    assert counts[0, 10] == 1 and counts[0, 29] == 1 and counts[0, 30] == 0
    assert counts[1, :30].sum() == 0 and counts[1, 30:].tolist() == [1] * 30
    out = figures(counts, np.array([1, 2]), minutes)
    assert out[0] == {"minutes": 60, "met_minutes": 30, "required_unit_min": 60.0, "delivered_unit_min": 30.0,
                      "zone_hours": 1, "zone_hours_seen": 1}
    assert out[1]["met_minutes"] == 0 and out[1]["delivered_unit_min"] == 30.0 and out[1]["required_unit_min"] == 120.0


def test_a_unit_with_no_fix_or_off_duty_counts_nowhere() -> None:
    minutes = pd.date_range(T0, periods=10, freq="min")
    fixes = _fixes([("a", 0, .5, .5), ("a", 4, .5, .5)])
    counts = present_counts(fixes, _statuses([("a", -1, "off_duty")]), [ZoneSpec("Z0", "S", SQUARE, 1)], minutes)
    assert counts.sum() == 0
    assert present_counts(fixes.iloc[0:0], _statuses([]), [ZoneSpec("Z0", "S", SQUARE, 1)], minutes).sum() == 0


@pytest.fixture
def district(settings: Settings) -> Settings:
    async def seed(conn: asyncpg.Connection) -> None:
        await ensure_partitions(conn, 90)
        await two_stations(conn)
    run_db(settings.database_url, seed)
    return settings


async def _history(conn: asyncpg.Connection, hour: dt.datetime) -> None:
    """In the hour: A1 patrols Z0 all hour (a fix a minute); B1 sits in Z1 for the first 20 minutes and
    goes off duty; nobody enters Z2. C1 (S2) patrols Z3 for 45 minutes."""
    lat0, lon0 = zone_center(0)
    lat1, lon1 = zone_center(1)
    lat3, lon3 = zone_center(3)
    rows = [("A1", "S1", m, lat0, lon0) for m in range(60)] + [("B1", "S1", m, lat1, lon1) for m in range(20)]
    rows += [("C1", "S2", m, lat3, lon3) for m in range(45)]
    await conn.executemany(
        "INSERT INTO positions (unit, ts, recv_ts, station, lat, lon) VALUES ($1, $2, $2, $3, $4, $5)",
        [(u, hour + dt.timedelta(minutes=m), s, la, lo) for u, s, m, la, lo in rows])
    await conn.executemany(
        "INSERT INTO statuses (unit, ts, recv_ts, station, status) VALUES ($1, $2, $2, $3, $4)",
        [("A1", hour - dt.timedelta(minutes=1), "S1", "patrolling"), ("B1", hour - dt.timedelta(minutes=1), "S1",
          "patrolling"), ("B1", hour + dt.timedelta(minutes=20), "S1", "off_duty"),
         ("C1", hour - dt.timedelta(minutes=1), "S2", "patrolling"),
         ("C1", hour + dt.timedelta(minutes=45), "S2", "busy")])


def test_the_duty_loop_folds_hours_and_daily_figures_add_up(district: Settings) -> None:
    hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    now = hour + dt.timedelta(hours=1, minutes=1)

    async def go(conn: asyncpg.Connection) -> None:
        await _history(conn, hour)
        await conn.execute("INSERT INTO presence_cursor (id, upto) VALUES (true, $1)", hour)  # measured up to it
        # a minute after the hour ended, fixes may still be on their way: not yet measured
        assert await presence.fold_hours(conn, load_plan(), "UTC", now=now) == 0
        now_later = now + presence.FOLD_GRACE
        assert await presence.fold_hours(conn, load_plan(), "UTC", now=now_later) == 1
        assert await presence.fold_hours(conn, load_plan(), "UTC", now=now_later) == 0      # idempotent
        rows = {r["zone"]: dict(r) for r in await conn.fetch("SELECT * FROM presence_day")}
        assert (rows["Z0"]["met_minutes"], rows["Z1"]["met_minutes"], rows["Z2"]["met_minutes"]) == (60, 20, 0)
        assert rows["Z3"]["met_minutes"] == 45
        day = hour.date()
        s1, s2 = await presence.daily_figures(conn, day, day)
        assert (s1["station"], s2["station"]) == ("S1", "S2")
        # S1: three zones needing 1 each for 60 min = 180 required; delivered 60 + 20 + 0 = 80
        assert s1["required_unit_min"] == 180 and s1["delivered_unit_min"] == 80
        assert s1["fulfilment_rate"] == pytest.approx(80 / 180)
        assert s1["presence_rate"] == pytest.approx(2 / 3) and s1["met_share"] == pytest.approx(80 / 180)
        assert s2["fulfilment_rate"] == pytest.approx(45 / 60) and s2["presence_rate"] == 1.0
        assert [r["station"] for r in await presence.daily_figures(conn, day, day, ["S2"])] == ["S2"]
        assert await presence.daily_figures(conn, day - dt.timedelta(days=3), day - dt.timedelta(days=1)) == []

    run_db(district.database_url, go)


def test_an_hour_is_measured_again_when_late_fixes_come_with_the_minimums_it_had(district: Settings) -> None:
    hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=3)
    later = hour + dt.timedelta(hours=1) + presence.FOLD_GRACE
    lat2, lon2 = zone_center(2)

    async def go(conn: asyncpg.Connection) -> None:
        await _history(conn, hour)
        await conn.execute("INSERT INTO presence_cursor (id, upto) VALUES (true, $1)", hour)
        assert await presence.fold_hours(conn, load_plan(), "UTC", now=later) == 1
        day = await conn.fetchrow("SELECT * FROM presence_day WHERE zone = 'Z2'")
        assert (day["minutes"], day["met_minutes"], day["zone_hours_seen"]) == (60, 0, 0)
        # A2 patrolled Z2 for the first half hour out of coverage; its fixes come now, as the ingest
        # queues them. Meanwhile Z2's minimum went up to 3: the hour keeps the minimum it had (1).
        await conn.executemany(
            "INSERT INTO positions (unit, ts, recv_ts, station, lat, lon) VALUES ('A2', $1, now(), 'S1', $2, $3)",
            [(hour + dt.timedelta(minutes=m), lat2, lon2) for m in range(30)])
        await conn.execute("INSERT INTO statuses (unit, ts, recv_ts, station, status) "
                           "VALUES ('A2', $1, $1, 'S1', 'patrolling')", hour - dt.timedelta(minutes=1))
        await conn.execute("UPDATE zones SET min_units = 3 WHERE id = 'Z2'")
        await conn.execute("INSERT INTO presence_late (hour) VALUES ($1)", hour)
        assert await presence.fold_hours(conn, load_plan(), "UTC", now=later) == 1
        rows = {r["zone"]: dict(r) for r in await conn.fetch("SELECT * FROM presence_day")}
        z2 = rows["Z2"]
        # minutes 0–29, and 30–34 on its last fix (a fix counts for STALE_S = 5 minutes)
        assert (z2["minutes"], z2["met_minutes"], z2["zone_hours_seen"], z2["required_unit_min"]) == (60, 35, 1, 60)
        assert (rows["Z0"]["met_minutes"], rows["Z1"]["met_minutes"], rows["Z3"]["met_minutes"]) == (60, 20, 45)
        s1 = (await presence.daily_figures(conn, hour.date(), hour.date(), ["S1"]))[0]
        assert s1["delivered_unit_min"] == 60 + 20 + 35 and s1["presence_rate"] == 1.0
        assert await presence.fold_hours(conn, load_plan(), "UTC", now=later) == 0          # the queue is drained
        assert await conn.fetchval("SELECT count(*) FROM presence_late") == 0
        # an hour no longer kept is dropped from the queue without a change
        await conn.execute("INSERT INTO presence_late (hour) VALUES ($1)", hour - dt.timedelta(days=20))
        assert await presence.fold_hours(conn, load_plan(), "UTC", now=later) == 0
        assert await conn.fetchval("SELECT count(*) FROM presence_late") == 0
        assert rows == {r["zone"]: dict(r) for r in await conn.fetch("SELECT * FROM presence_day")}

    run_db(district.database_url, go)


def test_live_coverage_reports_the_last_hour_and_the_shift(district: Settings) -> None:
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    start = now - dt.timedelta(hours=1)

    async def go(conn: asyncpg.Connection) -> dict:
        await _history(conn, start)
        local_start = start.astimezone(ZoneInfo("Asia/Shanghai"))     # a shift start in local time works too
        return await presence.live_coverage(conn, load_plan(), local_start, ["S1"], now=now)

    out = run_db(district.database_url, go)
    assert set(out["zones"]) == {"Z0", "Z1", "Z2"}
    assert out["zones"]["Z0"]["met_last_hour"] == 1.0 and out["zones"]["Z1"]["met_last_hour"] == pytest.approx(1 / 3)
    assert out["zones"]["Z2"]["met_shift"] == 0.0
    assert out["shift"]["fulfilment_rate"] == pytest.approx(80 / 180)


def test_visit_runs() -> None:
    from qingzhi.core.hotspot_visits import visits
    run = np.array([0] * 5 + [1] * 12 + [0] * 3 + [1] * 11 + [0] + [1] * 13, bool)
    assert visits(run, 12) == [17, 45]
    assert visits(run, 14) == [] and visits(np.ones(3, bool), 3) == [3]


def test_hotspot_visits_from_position_history(district: Settings) -> None:
    import h3

    from qingzhi.core.hotspot_visits import hotspot_visits
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    lat0, lon0 = zone_center(0)
    lat2, lon2 = zone_center(2)
    hot0, hot2 = h3.latlng_to_cell(lat0, lon0, 9), h3.latlng_to_cell(lat2, lon2, 9)
    today = now.date()

    async def go(conn: asyncpg.Connection) -> list[dict]:
        await conn.executemany(
            """INSERT INTO an_cell_day (day, cell10, station, type, priority, cell9, cell8, category, n)
               VALUES ($1, $2, 'S1', 'theft.ebike', 3, $3, 0, 'theft', $4)""",
            [(today, 1, h3.str_to_int(hot0), 9), (today, 2, h3.str_to_int(hot2), 5)])
        # A1 sits in hotspot 0 for 14 minutes ending 30 minutes ago; B1 passes through hotspot 2 for 4 minutes
        rows = [("A1", now - dt.timedelta(minutes=44 - m), lat0, lon0) for m in range(14)]
        rows += [("B1", now - dt.timedelta(minutes=20 - m), lat2, lon2) for m in range(4)]
        await conn.executemany(
            "INSERT INTO positions (unit, ts, recv_ts, station, lat, lon) VALUES ($1, $2, $2, 'S1', $3, $4)", rows)
        await conn.executemany(
            "INSERT INTO statuses (unit, ts, recv_ts, station, status) VALUES ($1, $2, $2, 'S1', 'patrolling')",
            [("A1", now - dt.timedelta(hours=3)), ("B1", now - dt.timedelta(hours=3))])
        await levels.set_level(Actor.system("test"), conn, scope="zone", target="Z0", level="I", reason="test")
        return await hotspot_visits(conn, load_plan(), ["S1"], today, now=now)

    got = {h["cell"]: h for h in run_db(district.database_url, go)}
    assert list(got) == [hot0, hot2]                       # ranked by incidents
    assert got[hot0]["visits"] == 1 and got[hot0]["level"] == 1
    # a unit present until minute -31 (its last fix) plus the 5-minute staleness: the visit ended ~25 min ago
    assert 20 <= got[hot0]["minutes_since_visit"] <= 31
    assert got[hot0]["due"] is False                       # level I: every 30 minutes
    assert got[hot2]["visits"] == 0 and got[hot2]["due"] is True


def test_grid_keys_cover_every_point_of_their_boxes() -> None:
    from qingzhi.core.presence import GRID, grid_keys
    rng = np.random.default_rng(5)
    boxes = np.array([[30.27, 30.2731, 120.15, 120.1534], [-33.9, -33.897, -70.66, -70.657]])
    keys = set(grid_keys(boxes))
    for lat0, lat1, lon0, lon1 in boxes:
        lat, lon = rng.uniform(lat0, lat1, 200), rng.uniform(lon0, lon1, 200)
        # the key as the history query computes it for a fix
        got = np.floor(lat * GRID).astype(np.int64) * 10_000_000 + np.floor(lon * GRID).astype(np.int64)
        assert set(got.tolist()) <= keys
    assert 30 * GRID * 10_000_000 not in keys                  # far away: not covered
