"""The analysis pre-aggregates stay in step with raw incidents; the page's updates give known answers."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import h3.api.basic_int as h3
import numpy as np
import pytest

from dashboard.analysis import updates as up
from dashboard.analysis import queries as q
from dashboard.db import Database
from qingzhi import aggregate
from analysis_recount import assert_aggregates_equal_recount
from db_helpers import with_conn as run

TZ = "Asia/Shanghai"
SH = ZoneInfo(TZ)
INSERT = """INSERT INTO incidents (id, ts, occurred_from, occurred_to, lat, lon, type, category, priority, station)
            VALUES ($1, $2, $3, $4, $5, $6, $7, split_part($7, '.', 1), $8, $9)"""




def test_aggregates_follow_inserts_updates_deletes_and_merges(database_url: str) -> None:
    async def scenario(conn: asyncpg.Connection) -> None:
        base = datetime(2026, 3, 2, 20, 0, tzinfo=SH)
        rng = np.random.default_rng(1)
        await conn.executemany(INSERT, [
            (f"I{i}", base + timedelta(hours=int(h)), None, None, 30.27 + float(d), 120.15 + float(e),
             ("theft.ebike", "dispute.family", "traffic.accident")[i % 3], 1 + i % 4, ("xh", "sc", None)[i % 3])
            for i, (h, d, e) in enumerate(zip(rng.integers(0, 400, 300), rng.normal(0, 0.01, 300),
                                               rng.normal(0, 0.01, 300), strict=True))])
        await conn.execute(INSERT, "W1", base, base - timedelta(hours=9), base - timedelta(hours=1), 30.27, 120.15,
                           "burglary.home", 2, "xh")
        assert await aggregate.refresh(conn, TZ) == 301
        assert await assert_aggregates_equal_recount(conn, TZ) == 301
        # changes after the first refresh: moved and retyped, deleted, merged, and a lifecycle-only update
        await conn.execute("UPDATE incidents SET type = 'fight.street', category = 'fight', lat = 30.30 WHERE id = 'I1'")
        await conn.execute("DELETE FROM incidents WHERE id = 'I2'")
        await conn.execute("UPDATE incidents SET state = 'merged', merged_into = 'I4' WHERE id = 'I5'")
        await conn.execute("UPDATE incidents SET ts = ts - interval '3 days' WHERE id = 'W1'")
        await conn.execute("UPDATE incidents SET assigned_at = now() WHERE id = 'I7'")
        assert await conn.fetchval("SELECT count(*) FROM an_dirty") == 4  # not I7: lifecycle steps don't count
        await conn.execute(INSERT, "NEW", base, None, None, 30.28, 120.16, "theft.ebike", 3, "sc")
        assert await aggregate.refresh(conn, TZ) == 5
        assert await assert_aggregates_equal_recount(conn, TZ) == 300  # 301 - deleted I2 - merged I5 + NEW
        # a set-based update of many rows at once, and one that moves an incident's window
        await conn.execute("UPDATE incidents SET priority = 1 + (priority % 4) WHERE id LIKE 'I1%'")
        await conn.execute("UPDATE incidents SET occurred_to = occurred_to + interval '5 hours' WHERE id = 'W1'")
        async with conn.transaction():  # in a caller's transaction, in small batches: each batch's tables anew
            assert await aggregate.refresh(conn, TZ, batch=7) == 1 + await conn.fetchval(
                "SELECT count(*) FROM incidents WHERE id LIKE 'I1%'")
        await assert_aggregates_equal_recount(conn, TZ)
        # a different time zone recounts everything in local days of that zone
        await aggregate.refresh(conn, "UTC")
        await assert_aggregates_equal_recount(conn, "UTC")

    run(database_url, scenario)


def test_periods_spanning_whole_months(database_url: str) -> None:
    """Whole months come from the roll-ups, edge days from the day tables: same answers as raw rows."""
    rng = np.random.default_rng(3)
    start = datetime(2025, 11, 1, tzinfo=SH)
    rows = [(f"M{i}", start + timedelta(minutes=int(m)), None, None, 30.27 + float(rng.normal(0, 0.01)),
             120.15 + float(rng.normal(0, 0.01)), ("theft.ebike", "fight.street")[i % 2], 1 + i % 2, "xh")
            for i, m in enumerate(rng.integers(0, 150 * 24 * 60, 2000))]

    async def load(conn: asyncpg.Connection) -> None:
        await conn.executemany(INSERT, rows)

    run(database_url, load)
    db = Database(database_url)
    try:
        for f in (q.Filters(date(2025, 11, 15), date(2026, 2, 10)), q.Filters(date(2025, 12, 1), date(2026, 1, 31)),
                  q.Filters(date(2025, 12, 3), date(2025, 12, 20), types=("fight.street",))):
            chosen = [r for r in rows if f.start <= r[1].date() <= f.end and (not f.types or r[6] in f.types)]
            db.run(q.ensure_fresh, TZ)
            for res in (8, 9, 10):  # each resolution's own cell, not the parent of a finer one
                expected = dict(Counter(h3.latlng_to_cell(r[4], r[5], res) for r in chosen))
                assert db.run(q.cell_counts, f, res) == expected
                some = sorted(expected)[:5]
                assert db.run(q.counts_in_cells, f, res, some) == {c: expected[c] for c in some}
            assert db.run(q.total, f) == len(chosen)
            how = np.zeros(168)
            for r in chosen:
                how[r[1].weekday() * 24 + r[1].hour] += 1
            np.testing.assert_allclose(db.run(q.hour_of_week, f), how)
    finally:
        db.close()


@pytest.fixture
def planted_db(database_url: str) -> Database:
    """300 background incidents over 4 weeks + a planted hotspot of theft.ebike at 20:00–24:00."""
    rng = np.random.default_rng(11)
    start = datetime(2026, 2, 2, tzinfo=SH)  # a Monday
    rows = []
    for i in range(600):
        ts = start + timedelta(minutes=int(rng.integers(0, 28 * 24 * 60)))
        rows.append((f"B{i}", ts, None, None, 30.27 + float(rng.normal(0, 0.02)), 120.15 + float(rng.normal(0, 0.02)),
                     ("dispute.family", "traffic.accident", "fraud.telecom")[i % 3], 3, "xh"))
    for i in range(150):
        ts = start + timedelta(days=int(rng.integers(0, 28)), hours=int(rng.integers(20, 24)),
                               minutes=int(rng.integers(0, 60)))
        rows.append((f"P{i}", ts, None, None, 30.2950 + float(rng.normal(0, 0.0003)),
                     120.1700 + float(rng.normal(0, 0.0003)), "theft.ebike", 3, "sc"))

    async def load(conn: asyncpg.Connection) -> None:
        await conn.executemany(INSERT, rows)

    run(database_url, load)
    db = Database(database_url)
    yield db
    db.close()


def test_page_updates_find_planted_answers(planted_db: Database) -> None:
    f = q.Filters(date(2026, 2, 2), date(2026, 3, 1))
    spots = up.hotspots(planted_db, TZ, f, "previous", 9)  # also folds in the new incidents first
    planted = h3.latlng_to_cell(30.2950, 120.1700, 9)
    top = spots.top[0]
    assert int(top["cell"]) == planted and top["significant"] == "99%"
    assert top["dominant"][0] == ("theft.ebike", 1.0) and top["peak"] == "20:00–24:00"
    # the records begin after the comparison period starts: no data there, not zero (not "new")
    assert top["previous"] is None and top["change"] is None and spots.previous_total is None
    assert any(int(feat["properties"]["cell"]) == planted for feat in spots.significant["features"])
    assert spots.total == 750 and spots.kde is not None

    how, facts = up.peak_hours(planted_db, TZ, f)
    assert how.sum() == pytest.approx(750) and facts["window"] == "20:00–24:00"
    how_type, facts_type = up.peak_hours(planted_db, TZ, f, "type:theft.ebike")
    assert how_type.sum() == pytest.approx(150) and facts_type["window_share"] == pytest.approx(1.0)
    how_cell, _ = up.peak_hours(planted_db, TZ, f, f"cell:9:{planted}")
    assert how_cell.sum() == pytest.approx(top["count"]) and top["count"] > 100  # most of the plant in one cell

    by_type, by_category = up.frequent_types(planted_db, TZ, f, "previous")
    assert {r.key: r.count for r in by_type} == {"theft.ebike": 150, "dispute.family": 200,
                                                 "traffic.accident": 200, "fraud.telecom": 200}
    assert by_type[-1].key == "theft.ebike" and by_type[-1].cumulative == pytest.approx(1.0)
    assert {r.key for r in by_category} == {"theft", "dispute", "traffic", "fraud"}

    # filters: one station, one priority
    only = up.frequent_types(planted_db, TZ, q.Filters(f.start, f.end, stations=("sc",)), "previous")[0]
    assert [(r.key, r.count) for r in only] == [("theft.ebike", 150)]

    # an incident arriving now is on the page at the next update
    async def add(conn: asyncpg.Connection) -> None:
        await conn.execute(INSERT, "LATE", datetime(2026, 2, 10, 21, 0, tzinfo=SH), None, None, 30.2950, 120.1700,
                           "theft.ebike", 3, "sc")

    planted_db.run(add)
    assert up.hotspots(planted_db, TZ, f, "previous", 9).top[0]["count"] == top["count"] + 1
    assert all(r.previous is None and r.change is None for r in up.frequent_types(planted_db, TZ, f, "previous")[0])

    # one record older than the comparison period: it is covered, and the plant there is now zero, so new
    async def older(conn: asyncpg.Connection) -> None:
        await conn.execute(INSERT, "OLD", datetime(2026, 1, 2, 9, 0, tzinfo=SH), None, None, 30.25, 120.10,
                           "fraud.telecom", 3, "xh")

    planted_db.run(older)
    compared = up.hotspots(planted_db, TZ, f, "previous", 9)
    assert compared.top[0]["previous"] == 0 and compared.top[0]["change"] is None and compared.previous_total == 0
    ranked = {r.key: r for r in up.frequent_types(planted_db, TZ, f, "previous")[0]}
    assert ranked["theft.ebike"].previous == 0 and ranked["theft.ebike"].change is None

    quality = up.quality(planted_db, TZ, f)
    assert {(m, res) for m, res, _ in quality} == {(m, res) for m in ("counts", "gi", "kde") for res in (8, 9, 10)}
    # the planted spot persists: cells ranked by count predict better than chance at every size and share,
    # and every method finds it somewhere (Gi* may rank an empty neighbour of the spot first)
    assert all(r.pai >= 1 for m, _, r in quality if m == "counts")
    assert all(max(r.pai for m2, _, r in quality if m2 == m) > 5 for m in ("counts", "gi", "kde"))
    assert all(r.coverage <= r.share and r.hit_rate == r.hits / r.total for _, _, r in quality)

    rows = planted_db.run(q.cell_incidents, f, 9, planted)
    assert len(rows) == top["count"] + 1 and {r["type"] for r in rows} == {"theft.ebike"}


def test_page_updates_on_an_empty_database(database_url: str) -> None:
    db = Database(database_url)
    try:
        f = q.Filters(date(2026, 1, 1), date(2026, 1, 31))
        spots = up.hotspots(db, TZ, f, "last_year", 9)
        assert (spots.cells, spots.total, spots.top, spots.kde) == (0, 0.0, [], None)
        how, facts = up.peak_hours(db, TZ, f)
        assert how.sum() == 0 and facts["window"] == "" and facts["weekday"] is None
        assert up.frequent_types(db, TZ, f, "previous") == ([], [])
        assert up.summary_inputs(db, TZ, f, "previous")["top"] == [] and up.quality(db, TZ, f) == []
        assert db.run(q.options)["last"] is None
    finally:
        db.close()
