"""All SQL of the ingest: staging tables, the one-transaction batch write, stations, stats.

A batch is written in ONE transaction: COPY each kind of row into a temporary staging table,
then set-based statements move them into the history tables (ON CONFLICT DO NOTHING absorbs
redeliveries), raise alerts on transitions, advance incident lifecycles, upsert the live
`units` rows (a late reading never moves a unit back) and the incidents, insert rejects.
Times travel as epoch ms (bigint) and become timestamptz in SQL, which is exact and keeps
that work off the Python side.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg

from ingest import incident_store
from ingest.incident_store import utc_from_ms
from ingest.message import INCIDENT
from ingest.text import clean, redact_secrets
from qingzhi.core.late_fixes import FOLD_GRACE
from qingzhi.core.lifecycle import DEVICE_STEPS, STAMP, sources

EPOCH = "(timestamptz 'epoch' + {} * interval '1 millisecond')"
TS, RECV = EPOCH.format("s.ts_ms"), EPOCH.format("s.recv_ms")

# Every staging row starts with `msg`, its message's index in the batch, so that a message the
# store refuses (a unit under another station's topic) can be rejected whole, with its bytes.
STAGING: dict[str, tuple[str, ...]] = {
    "pos": ("msg", "unit", "station", "ts_ms", "recv_ms", "lat", "lon", "speed", "heading", "acc", "alt", "batt", "extra"),
    "cam": ("msg", "unit", "station", "ts_ms", "recv_ms", "state", "batt", "storage", "stream_url", "extra"),
    "status": ("msg", "unit", "station", "ts_ms", "ts_given", "recv_ms", "status", "incident", "sos", "extra"),
    "check": ("msg", "id", "unit", "station", "ts_ms", "recv_ms", "lat", "lon", "kind", "hit", "subject_hash", "note",
              "extra"),
    "ack": ("msg", "command", "command_uuid", "unit", "station", "ts_ms", "recv_ms"),
}

CREATE_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS stage_pos (msg int, unit text, station text, ts_ms bigint, recv_ms bigint,
    lat float8, lon float8, speed real, heading real, acc real, alt real, batt real, extra jsonb)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_cam (msg int, unit text, station text, ts_ms bigint, recv_ms bigint,
    state text, batt real, storage real, stream_url text, extra jsonb) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_status (msg int, unit text, station text, ts_ms bigint, ts_given boolean,
    recv_ms bigint, status text, incident text, sos boolean, extra jsonb) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_check (msg int, id text, unit text, station text, ts_ms bigint,
    recv_ms bigint, lat float8, lon float8, kind text, hit boolean, subject_hash text, note text, extra jsonb)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_ack (msg int, command text, command_uuid uuid, unit text, station text,
    ts_ms bigint, recv_ms bigint) ON COMMIT DELETE ROWS;
"""

# --- positions ------------------------------------------------------------------------------
INSERT_POSITIONS = f"""
INSERT INTO positions (unit, ts, recv_ts, station, lat, lon, speed, heading, acc, alt, batt, extra)
SELECT s.unit, {TS}, {RECV}, s.station, s.lat, s.lon, s.speed, s.heading, s.acc, s.alt, s.batt, s.extra
FROM stage_pos s ON CONFLICT DO NOTHING"""

UPSERT_UNITS_POS = f"""
INSERT INTO units AS u (id, station, fix_ts, lat, lon, speed, heading, acc, alt, batt, last_recv)
SELECT DISTINCT ON (s.unit) s.unit, s.station, {TS}, s.lat, s.lon, s.speed, s.heading, s.acc, s.alt, s.batt, {RECV}
FROM stage_pos s ORDER BY s.unit, s.ts_ms DESC
ON CONFLICT (id) DO UPDATE SET fix_ts = EXCLUDED.fix_ts, lat = EXCLUDED.lat, lon = EXCLUDED.lon,
    speed = EXCLUDED.speed, heading = EXCLUDED.heading, acc = EXCLUDED.acc, alt = EXCLUDED.alt,
    batt = EXCLUDED.batt, last_recv = greatest(u.last_recv, EXCLUDED.last_recv),
    version = nextval('units_version_seq')
WHERE u.station = EXCLUDED.station AND (u.fix_ts IS NULL OR u.fix_ts < EXCLUDED.fix_ts)"""

def _late(hour: str, recv: str) -> str:
    """SQL: received after the duty loop folded its hour (`hour`, its start), or within a minute of it."""
    return f"{recv} >= {hour} + interval '1 hour' + make_interval(secs => {FOLD_GRACE.total_seconds() - 60})"


# A fix for an hour the duty loop has folded, or is within a minute of folding, queues its unit-hour
# for playback and its hour for presence to be folded again (qingzhi/core/late_fixes.py): fixes a
# device kept while out of coverage still count.
LATE_FIXES = f"""
WITH late AS (
    SELECT DISTINCT s.unit, date_trunc('hour', {TS}, 'UTC') AS hour FROM stage_pos s
    WHERE {_late(f"date_trunc('hour', {TS}, 'UTC')", RECV)}
), tracks AS (
    INSERT INTO track_late (unit, hour) SELECT unit, hour FROM late ON CONFLICT DO NOTHING
)
INSERT INTO presence_late (hour) SELECT DISTINCT hour FROM late ON CONFLICT DO NOTHING"""

# The terminal's battery crossing below BATT_LOW: the first low fix newer than the live row, when
# the live row's battery was fine. Only the few low rows are looked at, to keep the hot path cheap.
BATT_LOW = 15
POS_ALERTS = f"""
INSERT INTO alerts (ts, kind, severity, subject, unit, station, detail)
SELECT {TS}, 'batt_low', 3, s.unit, s.unit, s.station, jsonb_build_object('batt', s.batt, 'previous', u.batt)
FROM (SELECT DISTINCT ON (unit) * FROM stage_pos WHERE batt < {BATT_LOW} ORDER BY unit, ts_ms) s
LEFT JOIN units u ON u.id = s.unit
WHERE (u.batt IS NULL OR u.batt >= {BATT_LOW}) AND (u.fix_ts IS NULL OR {TS} > u.fix_ts)
ON CONFLICT (kind, subject, ts) DO NOTHING"""

# --- camera states --------------------------------------------------------------------------
INSERT_CAM = f"""
INSERT INTO cam_states (unit, ts, recv_ts, station, state, batt, storage, stream_url, extra)
SELECT s.unit, {TS}, {RECV}, s.station, s.state, s.batt, s.storage, s.stream_url, s.extra
FROM stage_cam s ON CONFLICT DO NOTHING"""

# Transitions are judged against the previous reading: the one before in this batch, or
# the live row for the first. Only readings newer than the live row count (late ones are history).
CAM_ALERTS = f"""
WITH s AS (
    SELECT DISTINCT ON (unit, ts_ms) * FROM stage_cam ORDER BY unit, ts_ms
), w AS (
    SELECT s.*, lag(s.state) OVER p AS prev_b, lag(s.batt) OVER p AS prev_batt_b, row_number() OVER p AS rn
    FROM s WINDOW p AS (PARTITION BY s.unit ORDER BY s.ts_ms)
), t AS (
    SELECT w.*, CASE WHEN w.rn = 1 THEN u.cam_state ELSE w.prev_b END AS prev,
           CASE WHEN w.rn = 1 THEN u.cam_batt ELSE w.prev_batt_b END AS prev_batt
    FROM w LEFT JOIN units u ON u.id = w.unit
    WHERE u.cam_ts IS NULL OR {EPOCH.format("w.ts_ms")} > u.cam_ts
)
INSERT INTO alerts (ts, kind, severity, subject, unit, station, detail)
SELECT {EPOCH.format("t.ts_ms")}, a.kind, a.severity, t.unit, t.unit, t.station,
       jsonb_build_object('state', t.state, 'previous', t.prev, 'batt', t.batt)
FROM t CROSS JOIN LATERAL (VALUES
    ('cam_recording', 3, t.state IN ('recording', 'streaming')
                         AND (t.prev IS NULL OR t.prev NOT IN ('recording', 'streaming'))),
    ('cam_fault', 2, t.state = 'fault' AND t.prev IS DISTINCT FROM 'fault'),
    ('cam_batt_low', 3, t.batt < 20 AND (t.prev_batt IS NULL OR t.prev_batt >= 20))
) AS a(kind, severity, hit)
WHERE a.hit
ON CONFLICT (kind, subject, ts) DO NOTHING"""

UPSERT_UNITS_CAM = f"""
INSERT INTO units AS u (id, station, cam_state, cam_ts, cam_batt, cam_storage, stream_url, last_recv)
SELECT DISTINCT ON (s.unit) s.unit, s.station, s.state, {TS}, s.batt, s.storage, s.stream_url, {RECV}
FROM stage_cam s ORDER BY s.unit, s.ts_ms DESC
ON CONFLICT (id) DO UPDATE SET cam_state = EXCLUDED.cam_state, cam_ts = EXCLUDED.cam_ts,
    cam_batt = EXCLUDED.cam_batt, cam_storage = EXCLUDED.cam_storage,
    stream_url = coalesce(EXCLUDED.stream_url, u.stream_url),
    last_recv = greatest(u.last_recv, EXCLUDED.last_recv), version = nextval('units_version_seq')
WHERE u.station = EXCLUDED.station AND (u.cam_ts IS NULL OR u.cam_ts < EXCLUDED.cam_ts)"""

# --- statuses -------------------------------------------------------------------------------
# A status without a device time (a last will) repeated while the unit already has it is no
# change: otherwise every redelivery of a last will, stamped with a new receive time, would be a new row.
STATUS_ROWS = """
    SELECT s.* FROM stage_status s LEFT JOIN units u ON u.id = s.unit
    WHERE s.ts_given OR u.status IS DISTINCT FROM s.status"""

# A status stored after its hour was measured queues for presence that hour and the ones after it
# that it may decide (a unit's status counts for up to a day, until its next), up to the hour it came.
INSERT_STATUSES = f"""
WITH stored AS (
    INSERT INTO statuses (unit, ts, recv_ts, station, status, incident, sos, extra)
    SELECT s.unit, {TS}, {RECV}, s.station, s.status, s.incident, s.sos, s.extra
    FROM ({STATUS_ROWS}) s ON CONFLICT DO NOTHING
    RETURNING date_trunc('hour', ts, 'UTC') AS hour, recv_ts
)
INSERT INTO presence_late (hour)
SELECT DISTINCT generate_series(hour, least(hour + interval '23 hours', date_trunc('hour', recv_ts, 'UTC')
                                            - interval '1 hour'), interval '1 hour')
FROM stored WHERE {_late("hour", "recv_ts")}
ON CONFLICT DO NOTHING"""

STATUS_ALERTS = f"""
WITH s AS (
    SELECT DISTINCT ON (unit, ts_ms) * FROM ({STATUS_ROWS}) x ORDER BY unit, ts_ms
), w AS (
    SELECT s.*, lag(s.status) OVER p AS prev_b, lag(s.sos) OVER p AS prev_sos_b, row_number() OVER p AS rn
    FROM s WINDOW p AS (PARTITION BY s.unit ORDER BY s.ts_ms)
), t AS (
    SELECT w.*, CASE WHEN w.rn = 1 THEN u.status ELSE w.prev_b END AS prev,
           CASE WHEN w.rn = 1 THEN coalesce(u.sos, false) ELSE w.prev_sos_b END AS prev_sos
    FROM w LEFT JOIN units u ON u.id = w.unit
    WHERE u.status_ts IS NULL OR {EPOCH.format("w.ts_ms")} > u.status_ts
)
INSERT INTO alerts (ts, kind, severity, subject, unit, station, incident, detail)
SELECT {EPOCH.format("t.ts_ms")}, a.kind, a.severity, t.unit, t.unit, t.station, t.incident,
       jsonb_build_object('status', t.status, 'previous', t.prev)
FROM t CROSS JOIN LATERAL (VALUES
    ('sos', 1, t.sos AND NOT t.prev_sos),
    ('unit_offline', 2, t.status = 'offline' AND t.prev IS DISTINCT FROM 'offline')
) AS a(kind, severity, hit)
WHERE a.hit
ON CONFLICT (kind, subject, ts) DO NOTHING"""

# A unit's status moves the incident it is assigned to forward, by the transition table of
# qingzhi.core.lifecycle (never back, never from a state the table does not allow); the
# earliest report in the batch sets the time, and each move is audited with `device:<unit>`.
LIFECYCLE = f"""
WITH f AS (
    SELECT DISTINCT ON (s.incident) s.incident, s.unit, i.state AS prev, {TS} AS ts
    FROM stage_status s
    JOIN assignments a ON a.incident = s.incident AND a.unit = s.unit AND a.released_at IS NULL
    JOIN incidents i ON i.id = s.incident
    WHERE s.status = $1 AND i.state = ANY($2::text[])
    ORDER BY s.incident, s.ts_ms
), moved AS (
    UPDATE incidents i SET state = $1, {{col}} = coalesce(i.{{col}}, f.ts), updated_at = now()
    FROM f WHERE i.id = f.incident AND i.state = ANY($2::text[])
    RETURNING i.id, f.unit, f.prev
)
INSERT INTO audit_log (actor, action, incident, unit, details)
SELECT 'device:' || m.unit, 'incident.' || $1, m.id, m.unit, jsonb_build_object('from', m.prev, 'source', 'status')
FROM moved m"""
ADVANCE = tuple((step, STAMP[step], list(sources(step))) for step in DEVICE_STEPS)

UPSERT_UNITS_STATUS = f"""
INSERT INTO units AS u (id, station, status, status_ts, incident, sos, last_recv)
SELECT DISTINCT ON (s.unit) s.unit, s.station, s.status, {TS}, s.incident, s.sos, {RECV}
FROM ({STATUS_ROWS}) s ORDER BY s.unit, s.ts_ms DESC
ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, status_ts = EXCLUDED.status_ts,
    incident = EXCLUDED.incident, sos = EXCLUDED.sos,
    last_recv = greatest(u.last_recv, EXCLUDED.last_recv), version = nextval('units_version_seq')
WHERE u.station = EXCLUDED.station AND (u.status_ts IS NULL OR u.status_ts < EXCLUDED.status_ts)"""

# --- acks -----------------------------------------------------------------------------------
INSERT_ACKS = f"""
INSERT INTO acks (command, unit, ts, recv_ts, station)
SELECT s.command, s.unit, {TS}, {RECV}, s.station FROM stage_ack s ON CONFLICT DO NOTHING"""

ACK_COMMANDS = f"""
UPDATE commands c SET ack_ts = f.ts, ack_recv_ts = f.recv_ts
FROM (SELECT DISTINCT ON (s.command_uuid) s.command_uuid, {TS} AS ts, {RECV} AS recv_ts
      FROM stage_ack s JOIN commands k ON k.id = s.command_uuid AND k.unit = s.unit AND k.station = s.station
      ORDER BY s.command_uuid, s.ts_ms) f
WHERE c.id = f.command_uuid AND c.ack_ts IS NULL"""

# --- checks -----------------------------------------------------------------------------------
INSERT_CHECKS = f"""
INSERT INTO checks (id, unit, station, ts, recv_ts, lat, lon, kind, hit, subject_hash, note, extra)
SELECT DISTINCT ON (s.id) s.id, s.unit, s.station, {TS}, {RECV}, s.lat, s.lon, s.kind, s.hit, s.subject_hash,
       s.note, s.extra
FROM stage_check s ORDER BY s.id, s.msg ON CONFLICT (id) DO NOTHING"""

# --- identity -------------------------------------------------------------------------------
# A unit is its station and call sign (PROTOCOL.md): rows about a registered unit under another
# station's topic are taken out of the batch, and their messages rejected whole.
FOREIGN = """
DELETE FROM stage_{table} s USING units u WHERE u.id = s.unit AND u.station <> s.station
RETURNING s.msg, s.unit, s.station, u.station AS home"""

STATEMENTS: dict[str, tuple[str, ...]] = {
    # Order matters: history first, then alerts (which compare with the live row), then the live row.
    "pos": (INSERT_POSITIONS, LATE_FIXES, POS_ALERTS, UPSERT_UNITS_POS),
    "cam": (INSERT_CAM, CAM_ALERTS, UPSERT_UNITS_CAM),
    "status": (INSERT_STATUSES, STATUS_ALERTS, "lifecycle", UPSERT_UNITS_STATUS),
    "ack": (INSERT_ACKS, ACK_COMMANDS),
    "check": (INSERT_CHECKS,),
}
ORDER = ("pos", "cam", "status", "ack", "check")   # after the incidents: a status may advance a new one


async def prepare(conn: asyncpg.Connection) -> None:
    """Make this connection's staging tables (once per connection)."""
    await conn.execute(CREATE_STAGING)


async def write_batch(
    conn: asyncpg.Connection, rows: dict[str, list[tuple]], rejects: list[tuple[datetime, str, bytes, int, str]],
    refuse: Callable[[int, str], None], batch_id: uuid.UUID | None = None,
) -> None:
    """Write one batch in one transaction; raises (and rolls back) on any error.

    Rows start with their message's index; refuse(index, reason) is called for each message the
    store takes out of the batch, and must add its reject row to `rejects` before they are copied.
    The reject rows carry `batch_id`, so that written(conn, batch_id) can tell afterwards that it landed.
    """
    async with conn.transaction():
        if rows.get(INCIDENT):
            await incident_store.write(conn, rows[INCIDENT], refuse)
        for table in ORDER:
            batch = rows.get(table)
            if not batch:
                continue
            await conn.copy_records_to_table(f"stage_{table}", records=batch, columns=STAGING[table])
            for msg in {r["msg"]: r for r in await conn.fetch(FOREIGN.format(table=table))}.values():
                refuse(msg["msg"], f"unit {msg['unit']} belongs to station {msg['home']}, not {msg['station']}")
            for sql in STATEMENTS[table]:
                if sql == "lifecycle":
                    for state, col, before in ADVANCE:
                        await conn.execute(LIFECYCLE.format(col=col), state, before)
                else:
                    await conn.execute(sql)
        if rejects:
            await conn.copy_records_to_table("rejects", records=[(*r, batch_id) for r in rejects],
                                             columns=(*REJECT_COLUMNS, "batch"))


async def written(conn: asyncpg.Connection, batch_id: uuid.UUID) -> bool:
    """Whether a batch written with reject rows committed (its COMMIT's answer may have been lost).

    A batch without reject rows leaves no trace, and needs none: writing it again changes nothing.
    """
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM rejects WHERE batch = $1)", batch_id)


# --- rejects ----------------------------------------------------------------------------------
REJECT_COLUMNS = ("recv_ts", "topic", "payload", "size", "reason")
REJECT_KEEP = 4096          # bytes of a rejected payload kept (its full size is kept beside them)
TOPIC_KEEP, REASON_KEEP = 1024, 2000


def reject_row(recv_ms: int, topic: str, payload: bytes, reason: str) -> tuple[datetime, str, bytes, int, str]:
    """A `rejects` row: the payload's first REJECT_KEEP bytes with secrets redacted, its size, clean text."""
    return (utc_from_ms(recv_ms), clean(topic)[:TOPIC_KEEP], redact_secrets(payload)[:REJECT_KEEP], len(payload),
            clean(reason)[:REASON_KEEP])


async def prune_rejects(conn: asyncpg.Connection, keep_days: int, keep_rows: int) -> int:
    """Delete rejects older than keep_days, and the oldest beyond keep_rows (a flood cannot fill the disk)."""
    status = await conn.execute(
        """DELETE FROM rejects WHERE recv_ts < now() - make_interval(days => $1)
              OR id <= (SELECT max(id) FROM rejects) - $2""", keep_days, keep_rows)
    return int(status.split()[-1])


# --- housekeeping ---------------------------------------------------------------------------
async def load_stations(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """id, lat, lon, boundary of every station, for the jurisdiction lookup."""
    return await conn.fetch("SELECT id, lat, lon, boundary FROM stations")


async def save_stats(conn: asyncpg.Connection, instance: str, started: datetime, stats: dict[str, Any]) -> None:
    """Upsert this process's ingest_stats row."""
    await conn.execute(
        """INSERT INTO ingest_stats (instance, started_at, updated_at, stats) VALUES ($1, $2, now(), $3::jsonb)
           ON CONFLICT (instance) DO UPDATE SET started_at = EXCLUDED.started_at, updated_at = now(),
           stats = EXCLUDED.stats""",
        instance, started, json.dumps(stats))


async def read_stats(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every ingest process's row, with the age of its last update."""
    return await conn.fetch(
        """SELECT instance, started_at, updated_at, stats, extract(epoch FROM now() - updated_at) AS age_s
           FROM ingest_stats ORDER BY instance""")


async def read_rejects(conn: asyncpg.Connection, limit: int, since: datetime | None) -> list[asyncpg.Record]:
    """Newest rejects first."""
    return await conn.fetch(
        """SELECT recv_ts, topic, reason, payload, size FROM rejects
           WHERE $2::timestamptz IS NULL OR recv_ts > $2 ORDER BY recv_ts DESC, id DESC LIMIT $1""",
        limit, since)

