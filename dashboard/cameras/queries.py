"""The read query behind the camera strips: which units' cameras stream, most relevant first."""

from __future__ import annotations

from typing import Any

import asyncpg

STRIP_LIMIT = 100  # a strip shows a handful; more rows would only cost bandwidth

# When the camera's current streaming spell began (its heartbeats repeat `streaming` and must not
# reorder the strip): the first streaming state after the last other state, within a day.
_SINCE = """LEFT JOIN LATERAL (
    SELECT min(c.ts) AS since FROM cam_states c
    WHERE c.unit = u.id AND c.state = 'streaming' AND c.ts > now() - interval '1 day'
      AND c.ts > coalesce((SELECT max(p.ts) FROM cam_states p WHERE p.unit = u.id AND p.state <> 'streaming'
                           AND p.ts > now() - interval '1 day'), '-infinity')) s ON true"""


async def streaming_units(conn: asyncpg.Connection, stations: list[str] | None, incident: str | None = None
                          ) -> list[dict[str, Any]]:
    """Units whose camera streams (SOS first, then on scene, then the newest streams), in the stations
    given (None: all); for an incident, its active units whether they stream or not (`live` says)."""
    rows = await conn.fetch(
        f"""SELECT u.id, u.station, u.kind, u.status, coalesce(u.sos, false) AS sos, u.cam_state, u.stream_url,
                   u.cam_state = 'streaming' AS live,
                   (extract(epoch FROM coalesce(s.since, u.cam_ts)) * 1000)::bigint AS since_ms
            FROM units u {_SINCE}
            WHERE ($1::text[] IS NULL OR u.station = ANY($1::text[]))
              AND CASE WHEN $2::text IS NULL THEN u.cam_state = 'streaming'
                       ELSE u.id IN (SELECT unit FROM assignments WHERE incident = $2 AND released_at IS NULL) END
            ORDER BY (u.cam_state = 'streaming') DESC, coalesce(u.sos, false) DESC, (u.status = 'on_scene') DESC,
                     since_ms DESC NULLS LAST, u.id
            LIMIT $3""",
        stations, incident, STRIP_LIMIT,
    )
    return [dict(r) for r in rows]
