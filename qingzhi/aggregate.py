"""Keep the analysis pre-aggregates (migrations 0500, 0501, 0800, 1700) in step with `incidents`.

Statement triggers queue the id of every incident written, changed or deleted in `an_dirty`;
`refresh()` drains that queue in batches, set-based: per batch, PostgreSQL computes each
incident's local day, hour of week or time window, station, type and priority; Python adds only
what PostgreSQL cannot (it has no h3 here): the H3 cells at resolutions 8, 9 and 10, each computed
from the coordinates (never the parent of a finer cell, since H3 cells do not nest exactly), once
per distinct point (imported data repeats points: police.uk snaps crimes to a limited set of map
points), and the aoristic weights of each window not seen before. The difference
between the batch's new contributions and what the same incidents contributed before
(`an_incident`) is then grouped and added to every count table (an UPDATE of the keys present and
an INSERT of the rest, per table). One transaction per batch, under a transaction advisory lock, so that
concurrent callers (the duty loop, the importer, a page) run it safely and a rolled-back batch
leaves its ids queued. Merged duplicate calls count nothing (the call they were merged into counts).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import h3.api.basic_int as h3
import numpy as np

from qingzhi.analytics.aoristic import aoristic_weights
from qingzhi.db import analyze_after_bulk

REFRESH_LOCK = 7_425_001  # pg_advisory_xact_lock key
BATCH = 1_000_000
RESOLUTIONS = (8, 9, 10)
ANALYSED = ["id", "day", "cell8", "cell9", "cell10", "station", "type", "category", "priority", "how", "w_from", "w_to"]
TABLES = ("an_incident, an_cell_day, an_how_day, an_type_day, an_cell_month, an_how_month, an_cell_month_all, "
          "an_how_month_all")

# Per incident: local day, station ('' when unknown), and either the local hour of week (a point in
# time) or the local wall-clock window [w_from, w_to) it is known to lie in (spread aoristically).
# Each local time is computed once per row: OFFSET 0 keeps the planner from repeating the time zone
# conversion in every column that uses it (a quarter of this statement's time for a million rows).
NEW_CONTRIBUTIONS = """
    SELECT i.id, l.ts::date AS day, c.cell8, c.cell9, c.cell10, coalesce(i.station, '') AS station, i.type,
           i.category, i.priority,
           CASE WHEN NOT l.windowed THEN ((date_part('isodow', l.ts) - 1) * 24 + date_part('hour', l.ts))::smallint
           END AS how,
           CASE WHEN l.windowed THEN l.w_from END AS w_from,
           CASE WHEN l.windowed THEN l.w_to END AS w_to
    FROM an_rows i JOIN an_cells c ON c.lat = i.lat AND c.lon = i.lon
    CROSS JOIN LATERAL (SELECT ts, w_from, w_to, (w_from IS NOT NULL AND w_to > w_from) AS windowed
                        FROM (SELECT i.ts AT TIME ZONE $1 AS ts, i.occurred_from AT TIME ZONE $1 AS w_from,
                                     coalesce(i.occurred_to, i.ts) AT TIME ZONE $1 AS w_to OFFSET 0) z) l"""

# Count tables: (delta SQL over an_both or an earlier delta, key columns, value columns, amount column).
# Each delta is materialised as d_<table>, so that the month roll-ups sum the day deltas.
_POINT_AND_SPREAD = """
    SELECT day, how, station, type, priority, category, sign::float8 AS w FROM an_both WHERE how IS NOT NULL
    UNION ALL
    SELECT b.day, u.how, b.station, b.type, b.priority, b.category, b.n * u.w
    FROM (SELECT day, station, type, priority, min(category) AS category, w_from, w_to, sum(sign) AS n
          FROM an_both WHERE how IS NULL GROUP BY day, station, type, priority, w_from, w_to
          HAVING sum(sign) <> 0) b
    JOIN an_window aw USING (w_from, w_to), unnest(aw.how, aw.w) AS u(how, w)"""
DELTAS = {
    "an_cell_day": ("""SELECT day, cell10, cell9, cell8, station, type, priority, min(category) AS category,
                              sum(sign)::int AS n FROM an_both GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(sign) <> 0""",
                    ["day", "cell10", "cell9", "cell8", "station", "type", "priority"], ["category"], "n"),
    "an_cell_month": ("""SELECT date_trunc('month', day)::date AS month, cell9, cell8, station, type, priority,
                                min(category) AS category, sum(n)::int AS n
                         FROM d_an_cell_day GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(n) <> 0""",
                      ["month", "cell9", "cell8", "station", "type", "priority"], ["category"], "n"),
    "an_cell_month_all": ("""SELECT month, cell9, cell8, sum(n)::int AS n FROM d_an_cell_month
                             GROUP BY 1, 2, 3 HAVING sum(n) <> 0""", ["month", "cell9", "cell8"], [], "n"),
    "an_type_day": ("""SELECT day, station, type, priority, min(category) AS category, sum(sign)::int AS n
                       FROM an_both GROUP BY 1, 2, 3, 4 HAVING sum(sign) <> 0""",
                    ["day", "station", "type", "priority"], ["category"], "n"),
    "an_how_day": (f"""SELECT day, how, station, type, priority, min(category) AS category, sum(w) AS w
                       FROM ({_POINT_AND_SPREAD}) t GROUP BY 1, 2, 3, 4, 5 HAVING abs(sum(w)) > 1e-9""",
                   ["day", "how", "station", "type", "priority"], ["category"], "w"),
    "an_how_month": ("""SELECT date_trunc('month', day)::date AS month, how, station, type, priority,
                               min(category) AS category, sum(w) AS w
                        FROM d_an_how_day GROUP BY 1, 2, 3, 4, 5 HAVING abs(sum(w)) > 1e-9""",
                     ["month", "how", "station", "type", "priority"], ["category"], "w"),
    "an_how_month_all": ("""SELECT month, how, sum(w) AS w FROM d_an_how_month GROUP BY 1, 2
                            HAVING abs(sum(w)) > 1e-9""", ["month", "how"], [], "w"),
}


async def pending(conn: asyncpg.Connection) -> bool:
    """Whether some incidents are not yet reflected in the aggregates."""
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM an_dirty)")


async def refresh(conn: asyncpg.Connection, timezone: str, *, batch: int = BATCH) -> int:
    """Fold every queued incident change into the aggregates; return how many were processed.

    After a bulk change (an import) the tables are analysed, so that the small refreshes that
    follow probe the indexes instead of scanning tables the planner still thinks small.
    """
    done = 0
    while taken := await _fold_next(conn, timezone, batch):
        done += taken
    await analyze_after_bulk(conn, TABLES.split(", "), done)
    return done


async def _fold_next(conn: asyncpg.Connection, timezone: str, batch: int) -> int:
    """Fold the next batch of up to `batch` queued ids in one transaction; return how many (0: none queued)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", REFRESH_LOCK)
        await _check_timezone(conn, timezone)
        taken = await _take_batch(conn, batch)
        if taken:
            await _fold_batch(conn, timezone)
        return taken


async def _take_batch(conn: asyncpg.Connection, batch: int) -> int:
    """Move up to `batch` queued ids into the temporary table an_batch; return how many distinct ids."""
    await _temp_table(conn, "an_batch", columns="id text")
    status = await conn.execute(
        """WITH taken AS (DELETE FROM an_dirty WHERE ctid = ANY(ARRAY(SELECT ctid FROM an_dirty LIMIT $1))
                          RETURNING id)
           INSERT INTO an_batch SELECT DISTINCT id FROM taken""", batch)  # queued twice: once
    await conn.execute("ANALYZE an_batch")  # temporary tables have no statistics: say how big it is
    return int(status.split()[-1])


async def _fold_batch(conn: asyncpg.Connection, timezone: str) -> None:
    """Replace the batch's contributions in an_incident and add the difference to every count table."""
    await _temp_table(conn, "an_old", query=f"SELECT {', '.join(ANALYSED)} FROM an_incident JOIN an_batch USING (id)")
    await conn.execute("DELETE FROM an_incident a USING an_batch b WHERE a.id = b.id")
    # Coordinates outside WGS-84 (or NaN) have no cell, so they count nowhere; the ingest and the
    # importer refuse them anyway.
    # The batch's incidents that count, looked up once; only their distinct points travel to Python
    # and back (imported data repeats them).
    await _temp_table(conn, "an_rows", query="""
        SELECT i.id, i.ts, i.occurred_from, i.occurred_to, i.lat, i.lon, i.station, i.type, i.category, i.priority
        FROM incidents i JOIN an_batch USING (id)
        WHERE i.state <> 'merged' AND i.lat BETWEEN -90 AND 90 AND i.lon BETWEEN -180 AND 180""")
    points = await conn.fetch("SELECT DISTINCT lat, lon FROM an_rows")
    await _temp_table(conn, "an_cells", columns="lat float8, lon float8, cell8 bigint, cell9 bigint, cell10 bigint")
    if points:
        cells = exact_cells(np.array(points, float))
        await conn.copy_records_to_table("an_cells", records=zip([r[0] for r in points], [r[1] for r in points],
                                                                 *(c.tolist() for c in cells), strict=True))
        await conn.execute("ANALYZE an_cells")
    # The new contributions once, as an_new: written to an_incident (in cell order: its covering
    # index fills in order), read for the new windows, and with the old ones (an_old) the batch's
    # difference, an_both, a view over the two rather than a third copy of the batch.
    await _temp_table(conn, "an_new", columns="LIKE an_incident")
    await conn.execute(f"INSERT INTO an_new ({', '.join(ANALYSED)}) {NEW_CONTRIBUTIONS}", timezone)
    await conn.execute("ANALYZE an_new")
    await conn.execute(f"INSERT INTO an_incident ({', '.join(ANALYSED)}) "
                       f"SELECT {', '.join(ANALYSED)} FROM an_new ORDER BY cell10")
    await _add_windows(conn)
    await conn.execute(f"""CREATE TEMP VIEW an_both AS SELECT {', '.join(ANALYSED)}, 1 AS sign FROM an_new
                           UNION ALL SELECT {', '.join(ANALYSED)}, -1 FROM an_old""")
    for table, (delta, key, values, amount) in DELTAS.items():
        await _apply(conn, table, delta, key, values, amount)


async def _temp_table(conn: asyncpg.Connection, name: str, *, columns: str = "", query: str = "") -> None:
    """A temporary table for this batch, of `columns` or of a `query`'s rows, dropped at commit.

    Dropped first too: inside a caller's own transaction the previous batch's table is still there
    (with the view an_both over it: CASCADE; at commit too, the drop takes the view with it).
    """
    await conn.execute(f"DROP TABLE IF EXISTS pg_temp.{name} CASCADE")
    await conn.execute(f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP" if columns
                       else f"CREATE TEMP TABLE {name} ON COMMIT DROP AS {query}")


def exact_cells(lat_lon: np.ndarray) -> tuple[np.ndarray, ...]:
    """The H3 cells (as int64) containing each (lat, lon) row, at each of RESOLUTIONS.

    Each resolution's cell is computed from the coordinates, once per distinct point.
    """
    unique, inverse = np.unique(lat_lon, axis=0, return_inverse=True)
    pairs = unique.tolist()
    return tuple(np.fromiter((h3.latlng_to_cell(la, lo, res) for la, lo in pairs), np.int64, len(pairs))[inverse.ravel()]
                 for res in RESOLUTIONS)


async def _add_windows(conn: asyncpg.Connection) -> None:
    """Aoristic weights for each window of the batch that an_window does not hold yet."""
    windows = await conn.fetch(
        """SELECT DISTINCT a.w_from, a.w_to FROM an_new a
           WHERE a.w_from IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM an_window w WHERE w.w_from = a.w_from AND w.w_to = a.w_to)""")
    await conn.copy_records_to_table("an_window", records=[(start, end, *window_weights(start, end))
                                                           for start, end in windows])


def window_weights(start: datetime, end: datetime) -> tuple[list[int], list[float]]:
    """The non-zero aoristic weights of a local wall-clock window, as (hours of week, weights)."""
    weights = aoristic_weights(start, end)
    hours = np.flatnonzero(weights)
    return hours.tolist(), weights[hours].tolist()


async def _apply(conn: asyncpg.Connection, table: str, delta: str, key: list[str], values: list[str],
                 amount: str) -> None:
    """Materialise the table's delta as d_<table>, add it, and drop the rows that reach zero.

    Only this refresh writes the count tables, under its lock, so the keys present cannot change
    during the statement: those present are updated and the rest inserted plainly (an import of new
    months is nearly all new keys, which INSERT … ON CONFLICT wrote at twice the cost), in key order
    (the B-tree fills page after page: a third faster than in the delta's hash order).
    """
    cols = [*key, *values, amount]
    await _temp_table(conn, f"d_{table}", query=delta)
    match = " AND ".join(f"t.{k} = d.{k}" for k in key)
    await conn.execute(
        f"""WITH updated AS (UPDATE {table} t SET {amount} = t.{amount} + d.{amount} FROM d_{table} d WHERE {match}
                           RETURNING {', '.join(f't.{k}' for k in key)})
            INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(f'd.{c}' for c in cols)} FROM d_{table} d
            WHERE NOT EXISTS (SELECT 1 FROM updated t WHERE {match}) ORDER BY {', '.join(f'd.{k}' for k in key)}""")
    await conn.execute(f"DELETE FROM {table} t USING d_{table} d WHERE {match} AND d.{amount} < 0 "
                       f"AND abs(t.{amount}) <= 1e-9")


async def _check_timezone(conn: asyncpg.Connection, timezone: str) -> None:
    """Local days and hours depend on the time zone: if it changed, recount everything."""
    current = await conn.fetchval("SELECT value FROM an_meta WHERE key = 'timezone'")
    if current == timezone:
        return
    await conn.execute("SELECT now() AT TIME ZONE $1", timezone)  # an unknown zone fails here, before any change
    await conn.execute(f"TRUNCATE {TABLES}, an_dirty")  # everything is queued again, once
    await conn.execute("INSERT INTO an_dirty (id) SELECT id FROM incidents")
    await conn.execute(
        "INSERT INTO an_meta (key, value) VALUES ('timezone', $1) ON CONFLICT (key) DO UPDATE SET value = $1", timezone)
