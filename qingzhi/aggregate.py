"""Keep the analysis pre-aggregates (migration 0500_analysis.sql) in step with `incidents`.

A trigger queues the id of every incident written, changed or deleted in `an_dirty`; `refresh()`
drains that queue in batches: for each id it computes what the incident contributes now (local
day, hour of week or aoristic weights, H3 cells, station, type, priority), subtracts what it
contributed before (`an_incident`) and adds the difference to the count tables, all in one
transaction per batch. A transaction advisory lock lets concurrent callers (page requests, the
importer) run it safely; a rolled-back batch leaves its ids queued. Merged duplicate calls count
nothing (the call they were merged into counts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import h3.api.basic_int as h3
import numpy as np
import pandas as pd

from qingzhi.analytics.aoristic import aoristic_weights

REFRESH_LOCK = 7_425_001  # pg_advisory_xact_lock key
BATCH = 50_000
CELL_KEY = ["day", "cell10", "station", "type", "priority"]
HOW_KEY = ["day", "how", "station", "type", "priority"]
TYPE_KEY = ["day", "station", "type", "priority"]
CELL_MONTH_KEY = ["month", "cell9", "station", "type", "priority"]
HOW_MONTH_KEY = ["month", "how", "station", "type", "priority"]
CELL_ALL_KEY = ["month", "cell9"]
HOW_ALL_KEY = ["month", "how"]
COLUMNS = ["id", "day", "cell8", "cell9", "cell10", "station", "type", "category", "priority", "how", "how_w",
           "how_i", "how_v"]


async def pending(conn: asyncpg.Connection) -> bool:
    """Whether some incidents are not yet reflected in the aggregates."""
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM an_dirty)")


async def refresh(conn: asyncpg.Connection, timezone: str, *, batch: int = BATCH) -> int:
    """Fold every queued incident change into the aggregates; return how many were processed."""
    done = 0
    while True:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", REFRESH_LOCK)
            await _check_timezone(conn, timezone)
            ids = [r["id"] for r in await conn.fetch(
                "DELETE FROM an_dirty WHERE id IN (SELECT id FROM an_dirty LIMIT $1) RETURNING id", batch)]
            if not ids:
                return done
            rows = await conn.fetch(
                """SELECT id, ts, occurred_from, occurred_to, lat, lon, type, category, priority, station
                   FROM incidents WHERE id = ANY($1) AND state <> 'merged'""", ids)
            old = await conn.fetch(f"SELECT {', '.join(COLUMNS)} FROM an_incident WHERE id = ANY($1)", ids)
            new = contributions(rows, timezone)
            await _apply(conn, _frame(old), new)
            await conn.execute("DELETE FROM an_incident WHERE id = ANY($1)", ids)
            await conn.copy_records_to_table(
                "an_incident", columns=COLUMNS, records=zip(*(_column(new[c]) for c in COLUMNS), strict=True))
            done += len(ids)


async def _check_timezone(conn: asyncpg.Connection, timezone: str) -> None:
    """Local days and hours depend on the time zone: if it changed, recount everything."""
    current = await conn.fetchval("SELECT value FROM an_meta WHERE key = 'timezone'")
    if current == timezone:
        return
    await conn.execute("TRUNCATE an_incident, an_cell_day, an_how_day, an_type_day, an_cell_month, an_how_month, "
                       "an_cell_month_all, an_how_month_all")
    await conn.execute("INSERT INTO an_dirty (id) SELECT id FROM incidents ON CONFLICT DO NOTHING")
    await conn.execute(
        "INSERT INTO an_meta (key, value) VALUES ('timezone', $1) ON CONFLICT (key) DO UPDATE SET value = $1", timezone)


def contributions(rows: list[Any], timezone: str) -> pd.DataFrame:
    """What each incident row contributes, one row per incident, columns COLUMNS."""
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    df = pd.DataFrame([dict(r) for r in rows])
    local = pd.to_datetime(df["ts"], utc=True).dt.tz_convert(timezone)
    out = pd.DataFrame({"id": df["id"], "day": local.dt.date})
    cells10 = [h3.latlng_to_cell(la, lo, 10) for la, lo in zip(df["lat"], df["lon"], strict=True)]
    out["cell8"] = [h3.cell_to_parent(c, 8) for c in cells10]
    out["cell9"] = [h3.cell_to_parent(c, 9) for c in cells10]
    out["cell10"] = cells10
    out["station"] = df["station"].fillna("")
    out["type"] = df["type"]
    out["category"] = df["category"]
    out["priority"] = df["priority"].astype(int)
    out["how"] = (local.dt.day_of_week * 24 + local.dt.hour).astype("Int64")
    out["how_w"] = out["how_i"] = out["how_v"] = None
    windowed = df["occurred_from"].notna()
    for i in np.flatnonzero(windowed.to_numpy()):
        start = _local(df.at[i, "occurred_from"], timezone)
        end = _local(df.at[i, "occurred_to"] if pd.notna(df.at[i, "occurred_to"]) else df.at[i, "ts"], timezone)
        if end > start:
            out.at[i, "how"] = pd.NA
            weights = aoristic_weights(start, end).astype(np.float32)
            hours = np.flatnonzero(weights)
            out.at[i, "how_w"] = weights.tolist()
            out.at[i, "how_i"], out.at[i, "how_v"] = hours.tolist(), weights[hours].tolist()
    out["how"] = out["how"].astype(object).where(out["how"].notna(), None)
    return out


def _local(ts: datetime, timezone: str) -> datetime:
    return pd.Timestamp(ts).tz_convert(timezone).to_pydatetime()


def _frame(records: list[Any]) -> pd.DataFrame:
    return pd.DataFrame([dict(r) for r in records], columns=COLUMNS)


def _deltas(old: pd.DataFrame, new: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per-table changes: new contributions minus old ones, zero changes dropped.

    Grouping sorts by key (day or month first), so rows go into the tables in time order and a
    period's rows sit together on disk.
    """
    both = pd.concat([old.assign(sign=-1), new.assign(sign=1)], ignore_index=True)
    if both.empty:
        return {}
    both["month"] = [d.replace(day=1) for d in both["day"]]
    cell = both.groupby(CELL_KEY).agg(
        cell9=("cell9", "first"), cell8=("cell8", "first"), category=("category", "first"), n=("sign", "sum"))
    cell_month = both.groupby(CELL_MONTH_KEY).agg(
        cell8=("cell8", "first"), category=("category", "first"), n=("sign", "sum"))
    cell_all = both.groupby(CELL_ALL_KEY).agg(cell8=("cell8", "first"), n=("sign", "sum"))
    types = both.groupby(TYPE_KEY).agg(category=("category", "first"), n=("sign", "sum"))
    point = both[both["how"].notna()].assign(w=lambda d: d["sign"].astype(float))
    spread = both[both["how"].isna()]
    if not spread.empty:
        weights = np.vstack([np.asarray(w, float) for w in spread["how_w"]]) * spread["sign"].to_numpy()[:, None]
        rep = spread.loc[spread.index.repeat(168)].assign(how=np.tile(np.arange(168), len(spread)), w=weights.ravel())
        point = pd.concat([point, rep[rep["w"] != 0]], ignore_index=True)
    point["how"] = point["how"].astype(int)
    how = point.groupby(HOW_KEY).agg(category=("category", "first"), w=("w", "sum"))
    how_month = point.groupby(HOW_MONTH_KEY).agg(category=("category", "first"), w=("w", "sum"))
    how_all = point.groupby(HOW_ALL_KEY).agg(w=("w", "sum"))
    return {
        "an_cell_day": cell[cell["n"] != 0].reset_index(),
        "an_cell_month": cell_month[cell_month["n"] != 0].reset_index(),
        "an_how_month": how_month[how_month["w"].abs() > 1e-9].reset_index(),
        "an_cell_month_all": cell_all[cell_all["n"] != 0].reset_index(),
        "an_how_month_all": how_all[how_all["w"].abs() > 1e-9].reset_index(),
        "an_type_day": types[types["n"] != 0].reset_index(),
        "an_how_day": how[how["w"].abs() > 1e-9].reset_index(),
    }


TABLES = {  # table: (key columns, value columns, SQL types of key + value columns, amount column)
    "an_cell_day": (CELL_KEY, ["cell9", "cell8", "category", "n"],
                    ["date", "bigint", "text", "text", "int2", "bigint", "bigint", "text", "int"], "n"),
    "an_type_day": (TYPE_KEY, ["category", "n"], ["date", "text", "text", "int2", "text", "int"], "n"),
    "an_how_day": (HOW_KEY, ["category", "w"], ["date", "int2", "text", "text", "int2", "text", "float8"], "w"),
    "an_cell_month": (CELL_MONTH_KEY, ["cell8", "category", "n"],
                      ["date", "bigint", "text", "text", "int2", "bigint", "text", "int"], "n"),
    "an_how_month": (HOW_MONTH_KEY, ["category", "w"], ["date", "int2", "text", "text", "int2", "text", "float8"], "w"),
    "an_cell_month_all": (CELL_ALL_KEY, ["cell8", "n"], ["date", "bigint", "bigint", "int"], "n"),
    "an_how_month_all": (HOW_ALL_KEY, ["w"], ["date", "int2", "float8"], "w"),
}


async def _apply(conn: asyncpg.Connection, old: pd.DataFrame, new: pd.DataFrame) -> None:
    """Add the deltas to each count table; drop the rows that reach zero."""
    for table, delta in _deltas(old, new).items():
        if delta.empty:
            continue
        key, values, types, amount = TABLES[table]
        cols = key + values
        arrays = [_column(delta[c]) for c in cols]
        unnest = ", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(types))
        await conn.execute(
            f"""INSERT INTO {table} ({', '.join(cols)}) SELECT * FROM unnest({unnest})
                ON CONFLICT ({', '.join(key)}) DO UPDATE SET {amount} = {table}.{amount} + EXCLUDED.{amount}""",
            *arrays)
        if (delta[amount] < 0).any():
            shrunk = delta[delta[amount] < 0]
            keys = ", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(types[: len(key)]))
            match = " AND ".join(f"t.{k} = k.{k}" for k in key)
            await conn.execute(
                f"""DELETE FROM {table} t USING unnest({keys}) AS k({', '.join(key)})
                    WHERE {match} AND t.{amount} <= 1e-9""",
                *[_column(shrunk[c]) for c in key])


def _column(series: pd.Series) -> list:
    """A column as a list of plain Python values asyncpg can encode."""
    return [v.item() if isinstance(v, np.generic) else v for v in series.tolist()]
