"""Positions hash-partitioned by unit across PostgreSQL servers with postgres_fdw, on one box.

Two shard databases (each with the full schema, as each shard server would have) hold today's
fixes; the coordinator's day partition is hash-partitioned by unit into foreign tables. The
ingest's own writer stores through the coordinator: rows land on the shard of their unit,
redeliveries are absorbed by the shards' keys, a query for one unit reads one shard only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import asyncpg
import pytest
from conftest import PG_ADMIN_URL, fresh_database
from ingest_helpers import ROOT, make_message, query

from ingest.enrich import Jurisdictions
from ingest.inbox import Inbox
from ingest.pipeline import build_pipeline
from ingest.stats import Stats
from ingest.writer import Writer
from qingzhi.config import load_settings
from qingzhi.duties import CHORES, DutyLoop
from qingzhi.partitions import ensure_partitions

UNITS, PER_UNIT = 40, 5


@pytest.fixture
def shards(template_db: str) -> Iterator[list[str]]:
    """Two shard databases (migrated like any qingzhi database)."""
    made = [fresh_database(template_db) for _ in range(2)]
    urls = [next(g) for g in made]
    yield urls
    for g in made:
        next(g, None)


async def _servers(conn: asyncpg.Connection, shards: list[str]) -> None:
    """The shard databases as postgres_fdw servers shard0, shard1… of the coordinator."""
    admin = urlsplit(PG_ADMIN_URL)
    await conn.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
    for k, url in enumerate(shards):
        await conn.execute(f"""CREATE SERVER shard{k} FOREIGN DATA WRAPPER postgres_fdw
                               OPTIONS (host '{admin.hostname}', port '{admin.port or 5432}',
                                        dbname '{urlsplit(url).path[1:]}')""")
        password = f", password '{admin.password}'" if admin.password else ""
        await conn.execute(f"CREATE USER MAPPING FOR CURRENT_USER SERVER shard{k} "
                           f"OPTIONS (user '{admin.username or 'postgres'}'{password})")


async def _setup(coordinator: str, shards: list[str]) -> None:
    conn = await asyncpg.connect(coordinator)
    try:
        await _servers(conn, shards)
        with pytest.raises(asyncpg.RaiseError, match="qz_prepare_positions_sharding"):
            await conn.execute("SELECT qz_shard_positions_day(current_date, ARRAY['shard0', 'shard1'])")
        assert await conn.fetchval("SELECT qz_prepare_positions_sharding()") >= 8    # the local days keep their key
        await conn.execute("SELECT qz_shard_positions_day((now() AT TIME ZONE 'UTC')::date, ARRAY['shard0', 'shard1'])")
    finally:
        await conn.close()


def _fixes(base: int) -> list:
    return [make_message(f"{ROOT}/s1/u{u:03d}/gps", ts=base + k * 1000, lat=30.2 + u * 1e-3, lon=120.1)
            for k in range(PER_UNIT) for u in range(UNITS)]


async def _write(coordinator: str, base: int) -> None:
    writer = Writer(coordinator, Inbox(10), None, build_pipeline(ROOT, "tests-only-caller-key-0123456789",
                                                                   Jurisdictions()), Stats(), 5000, 200)
    try:
        await writer.write(_fixes(base))
        await writer.write(_fixes(base))        # a redelivery of the same fixes
    finally:
        await writer.conn.close()


def _count(url: str, sql: str = "SELECT count(*) FROM positions") -> object:
    return query(url, sql)[0][0]


def test_positions_hash_partitioned_over_two_shards_through_the_ingest_writer(
        database_url: str, shards: list[str]) -> None:
    asyncio.run(_setup(database_url, shards))
    base = int(time.time() * 1000) - 60_000
    asyncio.run(_write(database_url, base))
    on_shards = [(_count(url)) for url in shards]
    assert sum(on_shards) == UNITS * PER_UNIT and min(on_shards) > 0        # spread, each fix once
    assert (_count(database_url)) == UNITS * PER_UNIT           # the coordinator sees them all
    units_each = [(_count(url, "SELECT count(DISTINCT unit) FROM positions")) for url in shards]
    assert sum(units_each) == UNITS                                         # a unit lives on one shard only
    plan = (_count(database_url, "EXPLAIN (FORMAT JSON) SELECT * FROM positions WHERE unit = 'u007' "
                                            "AND ts > now() - interval '1 hour'"))
    assert str(plan).count("Foreign Scan") == 1                             # one shard asked
    newest = (_count(database_url, "SELECT count(*) FROM units WHERE fix_ts = to_timestamp($1 / 1000.0)"
                                .replace("$1", str(base + (PER_UNIT - 1) * 1000))))
    assert newest == UNITS                                                  # the live position, on the coordinator


def test_a_day_with_rows_is_not_resharded(database_url: str) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("SELECT qz_prepare_positions_sharding()")
            await conn.execute("""INSERT INTO positions (unit, ts, recv_ts, station, lat, lon)
                                  VALUES ('u1', now(), now(), 's1', 30, 120)""")
            with pytest.raises(asyncpg.RaiseError, match="has rows"):
                await conn.execute("SELECT qz_shard_positions_day((now() AT TIME ZONE 'UTC')::date, ARRAY['x'])")
            with pytest.raises(asyncpg.RaiseError, match="no servers"):
                await conn.execute("SELECT qz_shard_positions_day(current_date + 1, ARRAY[]::text[])")
            assert await conn.fetchval("SELECT count(*) FROM positions") == 1
        finally:
            await conn.close()
    asyncio.run(go())


def test_the_duty_loop_shards_each_day_ahead_over_the_configured_servers(database_url: str,
                                                                        shards: list[str]) -> None:
    settings = load_settings(database_url=database_url, position_shards="shard0, shard1")
    loop = DutyLoop(settings, "test", tuple(c for c in CHORES if c.name == "partitions"))

    async def go() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await _servers(conn, shards)
            await ensure_partitions(conn, 90)
            today = await conn.fetchval("SELECT (now() AT TIME ZONE 'UTC')::date")
            later = today + dt.timedelta(days=2)
            await conn.execute("""INSERT INTO positions (unit, ts, recv_ts, station, lat, lon)
                                  VALUES ('u1', $1, now(), 's1', 30, 120)""",   # written there by hand
                               dt.datetime.combine(later, dt.time(12), dt.UTC))
            result = (await loop.round(conn))["partitions"]
            assert "positions: 1 days ahead sharded over shard0, shard1" in result
            assert f"{later} already held rows: kept local" in result

            async def layout(day: dt.date) -> tuple[str, int]:
                return tuple(await conn.fetchrow(
                    """SELECT c.relkind::text, (SELECT count(*) FROM pg_inherits i JOIN pg_class f ON f.oid = i.inhrelid
                                          WHERE i.inhparent = c.oid AND f.relkind = 'f')
                       FROM pg_class c WHERE c.oid = to_regclass($1)""", f"positions_p{day:%Y%m%d}"))
            assert await layout(today + dt.timedelta(days=1)) == ("p", 2)
            assert await layout(today) == ("r", 0) and await layout(later) == ("r", 0)    # today's fixes are arriving
            await conn.executemany(
                """INSERT INTO positions (unit, ts, recv_ts, station, lat, lon) VALUES ($1, $2, now(), 's1', 30, 120)""",
                [(f"u{k}", dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0, 1), dt.UTC)) for k in range(20)])
            loop._last.clear()
            again = (await loop.round(conn))["partitions"]                          # once per day: left alone
            assert again.endswith(f"positions: 0 days ahead sharded over shard0, shard1 ({later} already held rows: "
                                  "kept local)")
            assert await layout(today + dt.timedelta(days=1)) == ("p", 2)
            broken = DutyLoop(load_settings(database_url=database_url, position_shards="shard0,shard9"), "test",
                              loop.chores)
            assert "no postgres_fdw server named shard9" in (await broken.round(conn))["partitions"]
            # the shard list emptied again: new days are local, each with its own key (the parent has none now)
            assert await conn.fetchval("SELECT qz_ensure_partitions('positions', $1, $1)",
                                       today + dt.timedelta(days=5)) == 1
            fix = """INSERT INTO positions (unit, ts, recv_ts, station, lat, lon) VALUES ('u1', $1, now(), 's1', 30, 120)
                     ON CONFLICT DO NOTHING"""
            at = dt.datetime.combine(today + dt.timedelta(days=5), dt.time(8), dt.UTC)
            assert [await conn.execute(fix, at) for _ in range(2)] == ["INSERT 0 1", "INSERT 0 0"]  # a redelivery: once
        finally:
            await conn.close()
    asyncio.run(go())
    on_shards = [_count(url) for url in shards]
    assert sum(on_shards) == 20 and min(on_shards) > 0          # tomorrow's fixes went to the shards
