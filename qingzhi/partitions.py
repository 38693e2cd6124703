"""Day partitions of the history tables (positions, cam_states, statuses): made ahead, dropped
after the retention, and where position shards are configured, each day of `positions` ahead
hash-partitioned over them (migration 1500). The duty loop keeps them; the ingest makes sure of
them when it starts."""

from __future__ import annotations

import datetime as dt

import asyncpg

from qingzhi.errors import QingzhiError

PARTITIONED = ("positions", "cam_states", "statuses")
PARTITION_LOCK = 7_425_200  # pg_advisory_xact_lock key: two processes starting at once make a day once
DAYS_AHEAD = 2              # days made ahead of today (UTC)


async def ensure_partitions(conn: asyncpg.Connection, retention_days: int) -> tuple[int, int]:
    """Create day partitions today-8 … today+2 and drop those older than the retention; (made, dropped)."""
    made = dropped = 0
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", PARTITION_LOCK)
        for table in PARTITIONED:
            made += await conn.fetchval(
                "SELECT qz_ensure_partitions($1, (now() AT TIME ZONE 'UTC')::date - 8,"
                " (now() AT TIME ZONE 'UTC')::date + $2::int)", table, DAYS_AHEAD)
            dropped += await conn.fetchval(
                "SELECT qz_drop_partitions_before($1, (now() AT TIME ZONE 'UTC')::date - $2::int)",
                table, retention_days)
    return made, dropped


async def shard_days_ahead(conn: asyncpg.Connection, servers: list[str]) -> tuple[list[dt.date], list[dt.date]]:
    """Hash-partition each day of `positions` after today, up to DAYS_AHEAD, over these postgres_fdw
    servers (in this order) unless it already is; (days sharded now, days left local because they
    already hold rows). Today is never touched: its fixes are arriving. A day's servers never change
    once it is sharded, so a new list applies from the next day not yet sharded."""
    known = {r[0] for r in await conn.fetch("SELECT srvname FROM pg_foreign_server WHERE srvname = ANY($1)", servers)}
    if missing := [s for s in servers if s not in known]:
        raise QingzhiError(f"position shards: no postgres_fdw server named {', '.join(missing)} "
                           "(CREATE SERVER and a USER MAPPING first: README, Scale-out)")
    sharded, kept = [], []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", PARTITION_LOCK)
        today = await conn.fetchval("SELECT (now() AT TIME ZONE 'UTC')::date")
        await conn.execute("SELECT qz_prepare_positions_sharding()")      # once; then it does nothing
        for day in (today + dt.timedelta(days=k) for k in range(1, DAYS_AHEAD + 1)):
            kind = await conn.fetchval("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)",
                                       f"positions_p{day:%Y%m%d}")
            if kind == "p":
                continue
            try:
                async with conn.transaction():
                    await conn.execute("SELECT qz_shard_positions_day($1, $2)", day, servers)
                sharded.append(day)
            except asyncpg.RaiseError:        # the day already holds rows: they stay where they are
                kept.append(day)
    return sharded, kept
