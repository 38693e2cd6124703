"""The append-only audit log: every domain action writes its entry here, with its actor and context.

The database itself refuses UPDATE, DELETE and TRUNCATE on audit_log (migration 0400).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from qingzhi.core.access import require
from qingzhi.core.actor import Actor

COLUMNS = ("id", "ts", "actor", "action", "incident", "unit", "screen", "context", "details")
ROWS_MAX = 10_000  # entries one read returns at most


async def record(
    conn: asyncpg.Connection,
    actor: Actor,
    action: str,
    *,
    incident: str | None = None,
    unit: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Append one entry; returns its id. Call it inside the transaction of the action it records."""
    return await conn.fetchval(
        """INSERT INTO audit_log (actor, action, incident, unit, screen, context, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) RETURNING id""",
        actor.label, action, incident, unit, actor.screen, actor.context,
        json.dumps(details, ensure_ascii=False, default=str) if details else None,
    )


async def entries(conn: asyncpg.Connection, *, limit: int = 100, incident: str | None = None) -> list[dict[str, Any]]:
    """The newest entries first (of one incident, if given)."""
    return await search(conn, limit=limit, incident=incident)


# the filters of a search, after its first parameter: incident, actor (part of the name), action (prefix), time
_MATCH = """($2::text IS NULL OR incident = $2) AND ($3::text IS NULL OR strpos(actor, $3) > 0)
            AND ($4::text IS NULL OR starts_with(action, $4))
            AND ($5::timestamptz IS NULL OR ts >= $5) AND ($6::timestamptz IS NULL OR ts < $6)"""


def _entries(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    return [{**dict(r), "details": json.loads(r["details"]) if r["details"] else None} for r in rows]


async def search(
    conn: asyncpg.Connection, *, limit: int = 100, incident: str | None = None, actor: str | None = None,
    action: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The newest entries first, narrowed by incident, actor (part of the name), action (prefix) and time."""
    return _entries(await conn.fetch(
        f"SELECT {', '.join(COLUMNS)} FROM audit_log WHERE {_MATCH} ORDER BY id DESC LIMIT $1",
        min(max(limit, 1), ROWS_MAX), incident, actor or None, action or None, since, until))


async def pages(
    conn: asyncpg.Connection, *, incident: str | None = None, actor: str | None = None, action: str | None = None,
    since: dt.datetime | None = None, until: dt.datetime | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every matching entry, oldest first, ROWS_MAX at a time (an export of any size reads the log this way).

    It reads up to the newest entry when it began (what is written later, the export's own entry among
    it, is not in it), by id, so each entry is read once however many are appended meanwhile."""
    after, upto = 0, await conn.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")
    while page := _entries(await conn.fetch(
            f"""SELECT {', '.join(COLUMNS)} FROM audit_log WHERE id > $7 AND id <= $8 AND {_MATCH}
                ORDER BY id LIMIT $1""",
            ROWS_MAX, incident, actor or None, action or None, since, until, after, upto)):
        yield page
        after = page[-1]["id"]


async def export(actor: Actor, conn: asyncpg.Connection, what: str, rows: int, filters: dict[str, Any]) -> None:
    """Record that the actor exported data (an analysis table, the audit log itself): exports are audited."""
    require(actor, "audit.view" if what == "audit" else "analysis.export")
    await record(conn, actor, "export", details={"what": what, "rows": rows, "filters": filters})
