"""Schema migrations: idempotent, partitions created ahead, retention drops only old days."""

import asyncio
import datetime as dt

import pytest

from qingzhi.db import connect, migrate
from qingzhi.errors import QingzhiError


def run(coro):
    return asyncio.run(coro)


def test_migrate_is_idempotent(database_url: str) -> None:
    async def go() -> tuple[list[str], int]:
        conn = await connect(database_url)
        try:
            again = await migrate(conn)
            count = await conn.fetchval("SELECT count(*) FROM schema_migrations")
            return again, count
        finally:
            await conn.close()

    again, count = run(go())
    assert again == []
    assert count >= 1


def test_partitions_exist_for_accepted_window_and_retention_drops_old_days(database_url: str) -> None:
    async def go() -> tuple[set[str], int, set[str]]:
        conn = await connect(database_url)
        try:
            names = "SELECT relname FROM pg_class WHERE relname ~ '^positions_p[0-9]{8}$'"
            before = {r[0] for r in await conn.fetch(names)}
            today = dt.datetime.now(dt.UTC).date()
            dropped = await conn.fetchval("SELECT qz_drop_partitions_before('positions', $1)", today - dt.timedelta(days=2))
            after = {r[0] for r in await conn.fetch(names)}
            return before, dropped, after
        finally:
            await conn.close()

    before, dropped, after = run(go())
    today = dt.datetime.now(dt.UTC).date()
    for delta in range(-7, 2):
        assert f"positions_p{(today + dt.timedelta(days=delta)):%Y%m%d}" in before
    assert dropped == len(before) - len(after) > 0
    assert min(after) == f"positions_p{(today - dt.timedelta(days=2)):%Y%m%d}"


def test_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(QingzhiError, match="cannot reach database"):
        run(connect("postgresql://postgres@127.0.0.1:1/postgres"))
