"""Acknowledging an alert: the first acknowledgement stands, and it is audited with its actor.

Which alerts exist and when they are raised is alert_rules.py.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from qingzhi.core import audit
from qingzhi.core.access import require
from qingzhi.core.actor import Actor
from qingzhi.core.row_ids import row_id


async def acknowledge(actor: Actor, conn: asyncpg.Connection, alert_id: object) -> dict[str, Any] | None:
    """Record that the actor acknowledged the alert now, unless someone already did.

    Returns {"acked_by", "acked_at", "new": True if this call recorded it}, or None if there
    is no such alert.
    """
    alert_id = row_id(alert_id, "alert")
    async with conn.transaction():
        station = await conn.fetchval("SELECT station FROM alerts WHERE id = $1", alert_id)
        require(actor, "alert.ack", station)
        row = await conn.fetchrow(
            "UPDATE alerts SET acked_by = $2, acked_at = now() WHERE id = $1 AND acked_at IS NULL"
            " RETURNING acked_by, acked_at, kind, subject, unit, incident",
            alert_id, actor.label,
        )
        if row is not None:
            await audit.record(conn, actor, "alert.ack", incident=row["incident"], unit=row["unit"],
                               details={"alert": alert_id, "kind": row["kind"], "subject": row["subject"]})
            return {"acked_by": row["acked_by"], "acked_at": row["acked_at"], "new": True}
    row = await conn.fetchrow("SELECT acked_by, acked_at FROM alerts WHERE id = $1", alert_id)
    return None if row is None else {"acked_by": row["acked_by"], "acked_at": row["acked_at"], "new": False}
