"""Day partitions of the history tables (positions, cam_states, statuses): made ahead, dropped
after the retention. The duty loop keeps them; the ingest makes sure of them when it starts."""

from __future__ import annotations

import asyncpg

PARTITIONED = ("positions", "cam_states", "statuses")
PARTITION_LOCK = 7_425_200  # pg_advisory_xact_lock key: two processes starting at once make a day once


async def ensure_partitions(conn: asyncpg.Connection, retention_days: int) -> tuple[int, int]:
    """Create day partitions today-8 … today+2 and drop those older than the retention; (made, dropped)."""
    made = dropped = 0
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", PARTITION_LOCK)
        for table in PARTITIONED:
            made += await conn.fetchval(
                "SELECT qz_ensure_partitions($1, (now() AT TIME ZONE 'UTC')::date - 8,"
                " (now() AT TIME ZONE 'UTC')::date + 2)", table)
            dropped += await conn.fetchval(
                "SELECT qz_drop_partitions_before($1, (now() AT TIME ZONE 'UTC')::date - $2::int)",
                table, retention_days)
    return made, dropped
