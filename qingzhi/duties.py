"""The duty loop: every timed chore of the system, run whether or not any page is open.

Each round runs the chores that are due, in order: the time-based alert rules
(qingzhi.core.alert_rules: ack timeouts, overdue incidents, lost units), the follow-up tasks'
overdue steps and effect checks (qingzhi.core.followups), alert levels that expire, zones short of
their minimum, the hourly presence figures and suggested levels (qingzhi.core.levels, redeploy,
presence, suggestions), the analysis
pre-aggregates (qingzhi.aggregate), the day partitions with their retention, the pruning of
old rejected messages, the folding of finished track hours for playback, and the morning's briefing file (qingzhi.briefing_report, where
QZ_BRIEFING_DIR is set). A round holds
a PostgreSQL advisory lock, so where two workers run, one works and the other skips the round;
every chore is idempotent anyway (alerts are keyed by kind, subject and time fixed by the data).
Each chore's last result goes to `duty_runs`, which `qingzhi status` shows. `qingzhi worker`
(worker.py) runs the rounds; tests call `DutyLoop.round` directly.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from ingest import store as ingest_store
from qingzhi import aggregate, briefing_report
from qingzhi.config import Settings
from qingzhi.core import alert_rules, followups, levels, presence, redeploy, suggestions
from qingzhi.core.actor import Actor
from qingzhi.core.briefing import playback
from qingzhi.core.response_plan import load_plan
from qingzhi.core.dispatch_config import load_config
from qingzhi.partitions import ensure_partitions, shard_days_ahead

log = logging.getLogger("qingzhi.worker")
DUTY_LOCK = 7_425_100  # pg_try_advisory_lock key: one round at a time across all workers


async def _ack_timeouts(conn: asyncpg.Connection, settings: Settings) -> str:
    return f"{await alert_rules.ack_timeouts(conn, await load_config(conn))} raised"


async def _overdue(conn: asyncpg.Connection, settings: Settings) -> str:
    return f"{await alert_rules.overdue(conn, await load_config(conn))} raised"


async def _lost_units(conn: asyncpg.Connection, settings: Settings) -> str:
    return f"{await alert_rules.lost_units(conn, settings.lost_after_s)} raised"


async def _followup_overdue(conn: asyncpg.Connection, settings: Settings) -> str:
    return f"{await followups.overdue_steps(conn)} raised"


async def _effect_checks(conn: asyncpg.Connection, settings: Settings) -> str:
    done = await followups.effect_checks(conn, await load_config(conn))
    return f"{sum(done.values())} checked: " + ", ".join(f"{n} {k}" for k, n in done.items())


async def _level_expiry(conn: asyncpg.Connection, settings: Settings) -> str:
    return f"{await levels.expire(conn)} expired"


async def _zone_shortage(conn: asyncpg.Connection, settings: Settings) -> str:
    response = load_plan(settings.response_plan)
    state = await redeploy.load_state(Actor.system("zone_shortage"), conn, response)
    have = state.have
    counts = [(z["id"], z["station"], int(state.need[i]), int(have[i])) for i, z in enumerate(state.zones)]
    raised = await alert_rules.zones_short(conn, counts, response.shortage_grace_min)
    return f"{raised} raised ({sum(c[3] < c[2] for c in counts)} zones short)"


async def _presence(conn: asyncpg.Connection, settings: Settings) -> str:
    folded = await presence.fold_hours(conn, load_plan(settings.response_plan), settings.timezone)
    return f"{folded} hours folded"


async def _suggestions(conn: asyncpg.Connection, settings: Settings) -> str:
    return f"{await suggestions.refresh(conn, load_plan(settings.response_plan), settings.timezone)} open"


async def _aggregates(conn: asyncpg.Connection, settings: Settings) -> str:
    return f"{await aggregate.refresh(conn, settings.timezone)} incidents folded"


async def _partitions(conn: asyncpg.Connection, settings: Settings) -> str:
    made, dropped = await ensure_partitions(conn, settings.retention_days)
    result = f"{made} made, {dropped} dropped (retention {settings.retention_days} days)"
    if servers := settings.shard_servers():
        sharded, kept = await shard_days_ahead(conn, servers)
        result += f"; positions: {len(sharded)} days ahead sharded over {', '.join(servers)}"
        if kept:
            log.warning("positions of %s already hold rows: kept local, not sharded", ", ".join(map(str, kept)))
            result += f" ({', '.join(map(str, kept))} already held rows: kept local)"
    return result


async def _rejects(conn: asyncpg.Connection, settings: Settings) -> str:
    pruned = await ingest_store.prune_rejects(conn, settings.rejects_keep_days, settings.rejects_keep_rows)
    return f"{pruned} pruned (kept {settings.rejects_keep_days} days, {settings.rejects_keep_rows} rows at most)"


async def _tracks(conn: asyncpg.Connection, settings: Settings) -> str:
    now = datetime.now(UTC)
    folded = await playback.fold_tracks(conn, now)
    pruned = await playback.prune_tracks(conn, now - timedelta(days=settings.retention_days))
    return f"{folded} unit-hours folded, {pruned} pruned"


async def _briefing(conn: asyncpg.Connection, settings: Settings) -> str:
    return await briefing_report.daily(conn, settings)


@dataclass(frozen=True)
class Chore:
    """One timed duty: run at most every `every_s` seconds; returns a one-line result."""

    name: str
    every_s: float
    run: Callable[[asyncpg.Connection, Settings], Awaitable[str]]


CHORES = (
    Chore("ack_timeouts", 0, _ack_timeouts),
    Chore("overdue", 0, _overdue),
    Chore("lost_units", 0, _lost_units),
    Chore("followup_overdue", 60, _followup_overdue),
    Chore("effect_checks", 300, _effect_checks),
    Chore("level_expiry", 0, _level_expiry),
    Chore("zone_shortage", 30, _zone_shortage),
    Chore("presence", 300, _presence),
    Chore("level_suggestions", 300, _suggestions),
    Chore("aggregates", 0, _aggregates),
    Chore("partitions", 3600, _partitions),
    Chore("rejects", 3600, _rejects),
    Chore("tracks", 60, _tracks),
    Chore("briefing", 600, _briefing),
)


class DutyLoop:
    """The chores of one worker process and when each last ran here."""

    def __init__(self, settings: Settings, instance: str, chores: tuple[Chore, ...] = CHORES) -> None:
        self.settings, self.instance, self.chores = settings, instance, chores
        self._last: dict[str, float] = {}

    async def round(self, conn: asyncpg.Connection) -> dict[str, str] | None:
        """Run every due chore; {chore: result}, or None when another worker holds the round.
        A failing chore is recorded with its error and the others still run."""
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", DUTY_LOCK):
            return None
        try:
            done = {}
            for chore in self.chores:
                if time.monotonic() - self._last.get(chore.name, -1e9) < chore.every_s:
                    continue
                done[chore.name] = await self._run(conn, chore)
            return done
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", DUTY_LOCK)

    async def _run(self, conn: asyncpg.Connection, chore: Chore) -> str:
        t0 = time.perf_counter()
        try:
            result, ok = await chore.run(conn, self.settings), True
            self._last[chore.name] = time.monotonic()
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
            raise  # the connection is gone: the worker reconnects
        except Exception as exc:  # noqa: BLE001 - one broken chore must not stop the others
            log.exception("chore %s failed", chore.name)
            result, ok = f"{type(exc).__name__}: {exc}", False
        took_ms = (time.perf_counter() - t0) * 1000
        await conn.execute(
            """INSERT INTO duty_runs (chore, ran_at, took_ms, ok, result, instance, last_ok)
               VALUES ($1, now(), $2, $3, $4, $5, CASE WHEN $3 THEN now() END)
               ON CONFLICT (chore) DO UPDATE SET ran_at = now(), took_ms = $2, ok = $3, result = $4,
                   instance = $5, last_ok = CASE WHEN $3 THEN now() ELSE duty_runs.last_ok END""",
            chore.name, took_ms, ok, result[:500], self.instance,
        )
        if not ok or not result.startswith("0 "):
            log.log(logging.INFO if ok else logging.WARNING, "%s: %s (%.0f ms)", chore.name, result, took_ms)
        return result


async def last_runs(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every chore's last run, with its age in seconds, for `qingzhi status`."""
    rows = await conn.fetch(
        """SELECT chore, ran_at, took_ms, ok, result, instance, last_ok,
                  extract(epoch FROM now() - ran_at)::float8 AS age_s
           FROM duty_runs ORDER BY chore""")
    return [{"duty": r["chore"], "ran_at": r["ran_at"].isoformat(), "age_s": round(r["age_s"], 1),
             "took_ms": round(r["took_ms"], 1), "ok": r["ok"], "result": r["result"], "instance": r["instance"],
             "last_ok": r["last_ok"].isoformat() if r["last_ok"] else None} for r in rows]
