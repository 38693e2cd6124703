"""All SQL of the analysis page. Every query reads the an_* pre-aggregates, never raw incidents
(except to list the incidents of one clicked cell, and those near the edge of the study area).

Filters arrive as a `Filters`; every query uses the same parameter layout ($1 … $6), so that
PostgreSQL can reuse its plans; an empty tuple means "all".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import asyncpg
import h3.api.basic_int as h3
import numpy as np

from qingzhi.core.stations import station_rows
from qingzhi import aggregate
from qingzhi.errors import QingzhiError

RESOLUTIONS = (8, 9, 10)


@dataclass(frozen=True)
class Filters:
    """What the analyst chose: an inclusive range of local days and the selections (empty = all)."""

    start: date
    end: date
    stations: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()

    @property
    def everything(self) -> bool:
        """No selection beyond the period (the roll-ups without filter columns answer it)."""
        return not (self.stations or self.types or self.categories or self.priorities)

    @property
    def days(self) -> int:
        """Length of the period in days."""
        return (self.end - self.start).days + 1

    def shifted(self, mode: str) -> Filters:
        """The comparison period: 'previous' (same length just before) or 'last_year' (same dates)."""
        if mode == "last_year":
            return replace(self, start=_year_back(self.start), end=_year_back(self.end))
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def split(self, share: float = 0.5) -> tuple[Filters, Filters]:
        """The first part (training) and the rest (test) of the period."""
        cut = self.start + timedelta(days=max(1, int(self.days * share)) - 1)
        return replace(self, end=cut), replace(self, start=cut + timedelta(days=1))


def _year_back(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def _where(p: str = "", period: str = "{p}day BETWEEN $1 AND $2") -> str:
    """The filter condition over columns day, station, type, category, priority (prefixed `p`)."""
    return f"""{period.format(p=p)}
    AND (cardinality($3::text[]) = 0 OR {p}station = ANY($3))
    AND (cardinality($4::text[]) = 0 OR {p}type = ANY($4))
    AND (cardinality($5::text[]) = 0 OR {p}category = ANY($5))
    AND (cardinality($6::int2[]) = 0 OR {p}priority = ANY($6))"""


WHERE = _where()
# Whole months ($7 ≤ month < $8) from the month roll-ups, the other days from the day tables.
MONTHS = _where(period="month >= $7 AND month < $8")
EDGE_DAYS = _where(period="day BETWEEN $1 AND $2 AND (day < $7 OR day >= $8)")


def _months(f: Filters) -> tuple[date, date]:
    """[first, end) of the whole months inside the period; an empty span at its start if none."""
    first = f.start if f.start.day == 1 else _next_month(f.start)
    after = f.end + timedelta(days=1)
    end = after if after.day == 1 else after.replace(day=1)
    return (first, end) if first < end else (f.start, f.start)


def _next_month(d: date) -> date:
    return (d.replace(day=1) + timedelta(days=32)).replace(day=1)


def _args(f: Filters) -> tuple:
    return f.start, f.end, list(f.stations), list(f.types), list(f.categories), list(f.priorities)


def _cell_column(res: int) -> str:
    if res not in RESOLUTIONS:
        raise ValueError(f"H3 resolution {res} is not pre-aggregated (only {RESOLUTIONS})")
    return f"cell{res}"


async def _fetch(conn: asyncpg.Connection, sql: str, *args: Any) -> list[asyncpg.Record]:
    """fetch() with a plan made for these very parameters.

    asyncpg prepares statements, and after five runs PostgreSQL may switch to a generic plan
    that cannot see which period or which of the optional filters ($3 … $6) is set; for these
    queries that plan scans far more (measured: 2–3 times slower). So plan each run afresh, with
    room to group in memory: the profiles of a year's ten busiest res-8 cells group ~350,000 rows,
    which PostgreSQL's default 4 MB sorts on disk (measured: 250 ms, 180 ms with this).
    """
    async with conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL work_mem = '32MB'")
        return await conn.fetch(sql, *args)


async def ensure_fresh(conn: asyncpg.Connection, timezone: str) -> None:
    """Fold in incidents that arrived since the last refresh (cheap when there are none). On a read-only
    replica there is nothing to do: the duty loop refreshes on the primary and replication brings it."""
    if await aggregate.pending(conn) and not await conn.fetchval("SELECT pg_is_in_recovery()"):
        await aggregate.refresh(conn, timezone)


async def cell_counts(conn: asyncpg.Connection, f: Filters, res: int) -> dict[int, float]:
    """Incidents per H3 cell at resolution `res`."""
    col = _cell_column(res)
    if res == 10:  # resolution 10 has no month roll-up (it would hardly be smaller than the day table)
        rows = await _fetch(conn, f"SELECT {col}, sum(n)::float8 FROM an_cell_day WHERE {WHERE} GROUP BY 1", *_args(f))
    else:
        months = "an_cell_month_all WHERE month >= $7 AND month < $8" if f.everything else f"an_cell_month WHERE {MONTHS}"
        rows = await _fetch(
            conn, f"""SELECT cell, sum(n)::float8 FROM (
                    SELECT {col} AS cell, n FROM {months}
                    UNION ALL SELECT {col}, n FROM an_cell_day WHERE {EDGE_DAYS}) t GROUP BY 1""",
            *_args(f), *_months(f))
    return {r[0]: r[1] for r in rows}


def in_cells(res: int, p: str = "") -> str:
    """The condition 'the incident lies in one of the cells $7 at `res`' on an_incident (prefixed `p`).

    an_incident has one covering index, on the res-10 cell. An incident in a res-9 or res-8 cell
    lies in a res-10 cell that is a child of that cell or of one of its neighbours (H3 cells do
    not nest exactly, but nearly), so the index is searched for those candidates ($8) and the
    incident's own cell at `res` decides.
    """
    col = _cell_column(res)
    return f"{p}{col} = ANY($7::int8[])" if res == 10 else f"{p}cell10 = ANY($8::int8[]) AND {p}{col} = ANY($7::int8[])"


def cell_args(res: int, cells: list[int]) -> tuple:
    """The parameters of in_cells(res): the cells, and at res 8 and 9 their res-10 candidates."""
    if res == 10:
        return (cells,)
    near = {n for c in cells for n in h3.grid_disk(c, 1)}
    return cells, [child for n in near for child in h3.cell_to_children(n, 10)]


async def counts_in_cells(conn: asyncpg.Connection, f: Filters, res: int, cells: list[int]) -> dict[int, float]:
    """Incidents in a few cells (from the covering index on an_incident: no scan of the period)."""
    col = _cell_column(res)
    rows = await _fetch(
        conn, f"SELECT {col}, count(*)::float8 FROM an_incident WHERE {WHERE} AND {in_cells(res)} GROUP BY 1",
        *_args(f), *cell_args(res, cells))
    return {r[0]: r[1] for r in rows}


async def total(conn: asyncpg.Connection, f: Filters) -> float:
    """All incidents in the period and selection (from the small per-day type table)."""
    return (await _fetch(conn, f"SELECT coalesce(sum(n), 0)::float8 FROM an_type_day WHERE {WHERE}", *_args(f)))[0][0]


async def hour_of_week(conn: asyncpg.Connection, f: Filters) -> np.ndarray:
    """168 aoristic counts per local hour of week (Monday 00:00 first)."""
    months = "an_how_month_all WHERE month >= $7 AND month < $8" if f.everything else f"an_how_month WHERE {MONTHS}"
    rows = await _fetch(
        conn, f"""SELECT how, sum(w) FROM (
                SELECT how, w FROM {months}
                UNION ALL SELECT how, w FROM an_how_day WHERE {EDGE_DAYS}) t GROUP BY 1""", *_args(f), *_months(f))
    out = np.zeros(168)
    for how, w in rows:
        out[how] = w
    return out


async def type_counts(conn: asyncpg.Connection, f: Filters) -> dict[tuple[str, str], float]:
    """Incidents per (type, category)."""
    rows = await _fetch(
        conn, f"SELECT type, category, sum(n)::float8 FROM an_type_day WHERE {WHERE} GROUP BY 1, 2", *_args(f))
    return {(r[0], r[1]): r[2] for r in rows}


async def cell_profiles(conn: asyncpg.Connection, f: Filters, res: int, cells: list[int]) -> list[dict[str, Any]]:
    """Counts by type and station, and by hour of week, in a few cells, for the cells' profiles.

    Rows with `type` count incidents of that type and station; rows with `how` count (or, for
    windowed incidents, sum the aoristic weights of) that hour of week. Points are read from the
    covering indexes on an_incident alone; windows from their shared weights (an_window).
    """
    col = _cell_column(res)
    chosen = f"{WHERE} AND {in_cells(res)}"
    rows = await _fetch(
        conn, f"""SELECT {col} AS cell, type, station, how, count(*)::float8 AS n FROM an_incident WHERE {chosen}
            GROUP BY GROUPING SETS (({col}, type, station), ({col}, how))
            UNION ALL
            SELECT a.cell, NULL, NULL, u.h, sum(a.n * u.v) FROM (
                SELECT {col} AS cell, w_from, w_to, count(*) AS n FROM an_incident
                WHERE {chosen} AND how IS NULL GROUP BY 1, 2, 3) a
            JOIN an_window USING (w_from, w_to), unnest(an_window.how, an_window.w) AS u(h, v)
            GROUP BY 1, 4""",
        *_args(f), *cell_args(res, cells))
    return [dict(r) for r in rows]


async def cell_incidents(conn: asyncpg.Connection, f: Filters, res: int, cell: int, limit: int = 200) -> list[dict]:
    """The newest incidents of one cell (the only query that joins raw incidents: one cell's worth)."""
    rows = await _fetch(
        conn, f"""SELECT i.id, i.ts, i.type, i.priority, i.station, i.address, i.state
            FROM an_incident a JOIN incidents i USING (id)
            WHERE {_where('a.')} AND {in_cells(res, 'a.')}
            ORDER BY i.ts DESC LIMIT {int(limit)}""", *_args(f), *cell_args(res, [cell]))
    return [dict(r) for r in rows]


async def cell_points(conn: asyncpg.Connection, f: Filters, res: int, cells: list[int],
                      limit: int | None = None) -> list[dict[str, Any]]:
    """The incidents in these cells with their coordinates (for the study area's edge), newest first."""
    col = _cell_column(res)
    rows = await _fetch(
        conn, f"""SELECT i.id, i.ts, i.lat, i.lon, i.type, a.{col} AS cell
            FROM an_incident a JOIN incidents i USING (id)
            WHERE {_where('a.')} AND {in_cells(res, 'a.')}
            ORDER BY i.ts DESC{f' LIMIT {int(limit)}' if limit else ''}""", *_args(f), *cell_args(res, cells))
    return [dict(r) for r in rows]


async def jurisdictions(conn: asyncpg.Connection) -> list[str]:
    """The stations' jurisdictions (GeoJSON texts), for the study area."""
    return [r[0] for r in await conn.fetch("SELECT boundary::text FROM stations WHERE boundary IS NOT NULL ORDER BY id")]


class Source:
    """The hotspot figures' data (qingzhi.analytics.figures.Source) from these queries, through a Database.

    `boundary_file` is the setting `study_area`: a GeoJSON boundary of the area policed, used
    when no station has a jurisdiction. It is read again only when the file changes.
    """

    def __init__(self, db: Any, boundary_file: Path | None = None) -> None:
        self.db, self.boundary_file = db, boundary_file

    def cell_counts(self, period: Filters, res: int) -> dict[int, float]:
        """Incidents per cell at `res`."""
        return self.db.run(cell_counts, period, res)

    def points(self, period: Filters, res: int, cells: list[int], limit: int | None = None) -> list[dict[str, Any]]:
        """The incidents in these cells with their coordinates."""
        return self.db.run(cell_points, period, res, cells, limit)

    def area_inputs(self) -> tuple[list[str], Any | None, str | None]:
        """The jurisdictions, and the boundary file's GeoJSON and name (None without one)."""
        if self.boundary_file is None:
            return self.db.run(jurisdictions), None, None
        path = Path(self.boundary_file)
        try:
            return self.db.run(jurisdictions), _read_geojson(path, path.stat().st_mtime_ns), path.name
        except OSError as exc:
            raise QingzhiError(f"study area file {path}: {exc.strerror or exc}") from None


@lru_cache(maxsize=4)
def _read_geojson(path: Path, mtime_ns: int) -> str:
    """The file's text (cached per modification time; qingzhi.analytics.study_area parses it)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise QingzhiError(f"study area file {path}: not UTF-8 text ({exc.reason})") from None


async def first_day(conn: asyncpg.Connection) -> date | None:
    """The first day the records cover (None: no incident yet)."""
    return await conn.fetchval("SELECT min(day) FROM an_type_day")


async def options(conn: asyncpg.Connection) -> dict[str, Any]:
    """What the filters offer: stations, the types and categories seen, and the range of days."""
    types = await conn.fetch("SELECT DISTINCT type, category FROM an_type_day ORDER BY 2, 1")
    first = await first_day(conn)
    last = await conn.fetchval("SELECT max(day) FROM an_type_day")
    return {"stations": await station_rows(conn), "types": [(r[0], r[1]) for r in types],
            "first": first, "last": last}
