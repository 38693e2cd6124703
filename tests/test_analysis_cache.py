"""The analysis page keeps an answer per filter set (dashboard/analysis/cache.py) and never serves
it after the data or the study area changed: an incident added, moved or deleted, a station's
jurisdiction redrawn, a recount in another time zone."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from dashboard.analysis import updates as up
from dashboard.analysis import queries as q
from dashboard.db import Database
from db_helpers import with_conn as run

TZ = "Asia/Shanghai"
DAY = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo(TZ))
INSERT = """INSERT INTO incidents (id, ts, lat, lon, type, category, priority, station)
            VALUES ($1, $2, $3, $4, 'theft.ebike', 'theft', 3, 'xh')"""
F = q.Filters(date(2026, 3, 1), date(2026, 3, 31))


def square(west: float, south: float, size: float) -> str:
    return json.dumps({"type": "Polygon", "coordinates": [[[west, south], [west + size, south],
                                                           [west + size, south + size], [west, south + size],
                                                           [west, south]]]})


def test_same_question_is_answered_once_and_every_change_is_seen(database_url: str) -> None:
    async def load(conn: asyncpg.Connection) -> None:
        await conn.executemany(INSERT, [(f"I{i}", DAY + timedelta(hours=i), 30.27 + i * 1e-4, 120.15) for i in range(20)])
        await conn.execute("INSERT INTO stations (id, name_zh, name_en, lat, lon, boundary) VALUES "
                           "('xh', '西湖', 'Xihu', 30.27, 120.15, $1::jsonb)", square(120.05, 30.17, 0.2))

    run(database_url, load)
    db, other = Database(database_url), Database(database_url)
    try:
        first = up.hotspots(db, TZ, F, "previous", 9, kde=False)
        summary = up.summary_inputs(db, TZ, F, "previous")
        assert first.total == 20 and summary["total"] == 20
        assert up.hotspots(db, TZ, F, "previous", 9, kde=False) is first        # kept
        assert up.summary_inputs(db, TZ, F, "previous") is summary
        assert up.hotspots(db, TZ, F, "last_year", 9, kde=False) is not first  # another question
        assert up.hotspots(other, TZ, F, "previous", 9, kde=False) is not first  # each Database its own

        run(database_url, lambda c: c.execute(INSERT, "NEW", DAY, 30.27, 120.15))     # added
        added = up.hotspots(db, TZ, F, "previous", 9, kde=False)
        assert added.total == 21 and up.summary_inputs(db, TZ, F, "previous")["total"] == 21

        run(database_url, lambda c: c.execute("UPDATE incidents SET lat = 31.5 WHERE id = 'NEW'"))  # moved out
        moved = up.hotspots(db, TZ, F, "previous", 9, kde=False)
        assert (moved.total, moved.outside) == (20, 1)

        run(database_url, lambda c: c.execute("DELETE FROM incidents WHERE id IN ('NEW', 'I0')"))  # deleted
        assert up.hotspots(db, TZ, F, "previous", 9, kde=False).total == 19

        # the jurisdiction redrawn to leave out the northern half: no incident changed, the answer did
        run(database_url, lambda c: c.execute("UPDATE stations SET boundary = $1::jsonb",
                                              square(120.10, 30.17, 0.10085)))
        redrawn = up.hotspots(db, TZ, F, "previous", 9, kde=False)
        assert redrawn.area != moved.area and redrawn.total + redrawn.outside == 19 and redrawn.outside > 0

        # a recount in another time zone (TRUNCATE, then every incident again) is a new version too
        before = db.run(lambda c: c.fetchval("SELECT value FROM an_meta WHERE key = 'version'"))
        run(database_url, lambda c: c.execute(INSERT, "LAST", DAY, 30.2701, 120.15))  # (a change starts the refresh)
        recounted = up.hotspots(db, "UTC", F, "previous", 9, kde=False)
        assert recounted is not redrawn and recounted.total + recounted.outside == 20
        assert int(db.run(lambda c: c.fetchval("SELECT value FROM an_meta WHERE key = 'version'"))) > int(before)
    finally:
        db.close()
        other.close()
