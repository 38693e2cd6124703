"""Chores of the ingest process itself: today's partitions at start, the stations table for Enrich,
and its stats. Timed domain duties (alerts, retention, aggregates) are the duty loop's (qingzhi/duties.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

import asyncpg

from ingest import store
from ingest.enrich import Jurisdictions
from ingest.inbox import Inbox
from ingest.source import Source
from ingest.stats import Stats, log_line
from ingest.writer import backlog_alarm
from qingzhi.config import Settings
from qingzhi.db import Limits, connect
from qingzhi.partitions import ensure_partitions

log = logging.getLogger("qingzhi.ingest")
CHORES_EVERY_S = 30.0


class Housekeeping:
    """Runs chores every CHORES_EVERY_S and saves/logs stats every settings.stats_interval_s, on its own connection."""

    def __init__(self, settings: Settings, instance: str, started: datetime, stats: Stats, inbox: Inbox,
                 source: Source, jurisdictions: Jurisdictions, limits: Limits = Limits()):
        self.settings = settings
        self.instance = instance
        self.started = started
        self.stats = stats
        self.inbox = inbox
        self.source = source
        self.jurisdictions = jurisdictions
        self.limits = limits
        self.conn: asyncpg.Connection | None = None
        self._backlog_since: float | None = None

    async def start(self) -> None:
        """Before the first message: the day partitions it may write to, and the stations."""
        made, dropped = await ensure_partitions(await self._conn(), self.settings.retention_days)
        if made or dropped:
            log.info("partitions: %d created, %d dropped (retention %d days)", made, dropped,
                     self.settings.retention_days)
        await self.chores()

    async def chores(self) -> None:
        """The stations table for Enrich (a station added or redrawn takes effect within a minute)."""
        self.jurisdictions.update(await store.load_stations(await self._conn()))

    async def save_stats(self, final: bool = False) -> dict:
        """Upsert this process's ingest_stats row; return the figures."""
        self.stats.broker = "stopped" if final else ("ok" if self.source.connected else "down")
        self.stats.backlog = len(self.inbox)
        self.stats.backpressure_s = self.inbox.blocked_s
        snap = {**self.stats.snapshot(), **(await self._source_figures()),
                "interval_s": self.settings.stats_interval_s}   # for `status`: stale?
        await store.save_stats(await self._conn(), self.instance, self.started, snap)
        return snap

    async def _source_figures(self) -> dict:
        if self.stats.broker == "stopped":
            return {}
        return await self.source.figures()

    async def run(self) -> None:
        """Until cancelled; a failing chore is logged and tried again next time."""
        last_chores = time.monotonic()
        while True:
            await asyncio.sleep(self.settings.stats_interval_s)
            self._backlog_since = backlog_alarm(self.inbox, self.stats, self._backlog_since)
            try:
                if time.monotonic() - last_chores >= CHORES_EVERY_S:
                    last_chores = time.monotonic()
                    await self.chores()
                log.info(log_line(await self.save_stats()))
            except Exception as exc:  # noqa: BLE001 - chores must outlive a database outage or a bug
                log.warning("housekeeping failed (%s: %s); will retry", type(exc).__name__,
                            exc or f"no reply within {self.limits.command_s:g} s")
                await self.close()

    async def _conn(self) -> asyncpg.Connection:
        if self.conn is None or self.conn.is_closed():
            self.conn = await connect(self.settings.database_url, self.limits)
        return self.conn

    async def close(self) -> None:
        """Close the connection (quietly: it may be broken)."""
        if self.conn is not None:
            self.conn.terminate()
            self.conn = None
