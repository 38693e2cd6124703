"""How far a streaming replica (QZ_DATABASE_READ_URL) is behind its primary, for `qingzhi status`.

Measured on the replica: when it has replayed all the WAL it received, it is current (0 s);
otherwise it is behind by at least the age of the newest commit it has replayed. A replica
whose replay is stuck, or whose link to the primary is slow, shows here as a growing delay.
"""

from __future__ import annotations

from typing import Any

from qingzhi.db import read_within, redact
from qingzhi.errors import QingzhiError

DELAY_SQL = """
SELECT pg_is_in_recovery() AS replica,
       CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8 AS delay_s,
       pg_is_in_recovery() AND pg_is_wal_replay_paused() AS paused
"""


async def replica_state(url: str, timeout_s: float, max_lag_s: float) -> dict[str, Any]:
    """{"replica": url without password, "delay_s", "behind" (delay over max_lag_s), "paused"} or with "error"."""
    out: dict[str, Any] = {"replica": redact(url), "max_lag_s": max_lag_s}
    try:
        row = await read_within(url, timeout_s, lambda conn: conn.fetchrow(DELAY_SQL))
    except QingzhiError as exc:
        return {**out, "error": str(exc), "behind": True}
    if not row["replica"]:
        return {**out, "error": "not a replica (the server is not in recovery)", "behind": True}
    delay = round(row["delay_s"], 1)
    return {**out, "delay_s": delay, "paused": row["paused"], "behind": delay > max_lag_s}


def describe(state: dict[str, Any]) -> str:
    """One line for the status table."""
    if "error" in state:
        return f"replica {state['replica']}: {state['error']}"
    verdict = (f"BEHIND (more than {state['max_lag_s']:g} s)" if state["behind"] else "ok")
    paused = ", replay paused" if state["paused"] else ""
    return f"replica {state['replica']}: {state['delay_s']:g} s behind the primary{paused}: {verdict}"
