"""The one writer (HA recorder style): take a batch, run the pipeline, commit, then ack.

Only connection-type database errors are retried (with back-off, acknowledging nothing
meanwhile, so the broker keeps every message); any other database error on a batch makes
the writer retry it one message per transaction, so that a single poisoned message lands in
rejects with the database's reason instead of blocking the stream.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict

import asyncpg
from asyncpg.exceptions import _base as asyncpg_base   # the client-side DataError lives only here

from ingest import store
from ingest.inbox import Inbox
from ingest.message import POS, Msg
from ingest.pipeline import Stage, process
from ingest.source import MqttSource
from ingest.stats import Stats
from qingzhi.db import Limits, NotAnswering, connect
from qingzhi.errors import QingzhiError

log = logging.getLogger("qingzhi.ingest")
IDLE_S = 0.01   # commit early once input pauses this long (see Inbox.take)
CONNECTION_ERRORS = (
    OSError, TimeoutError, asyncio.TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
    asyncpg.ConnectionDoesNotExistError,
    # The server's statement_timeout / idle_in_transaction_session_timeout (qingzhi.db.Limits): a
    # silent link or an overloaded server, not bad data; retried, never rejected.
    asyncpg.QueryCanceledError, asyncpg.IdleInTransactionSessionTimeoutError,
    # A connection the server cut while idle can fail its next command this way ("another
    # operation is in progress"); a new connection cures it.
    asyncpg_base.InternalClientError,
)

# The database (or asyncpg, encoding a value) refused the data itself: retrying cannot help.
REFUSED = (asyncpg.PostgresError, asyncpg_base.DataError)


class Stopped(Exception):
    """Shutdown was asked while the database was unreachable: leave the batch unacknowledged."""


def is_connection_error(exc: BaseException) -> bool:
    """True for errors that a reconnect can cure (qingzhi.db.connect turns them into QingzhiError)."""
    return isinstance(exc, CONNECTION_ERRORS + (QingzhiError,)) and not isinstance(exc, asyncpg_base.DataError)


def build_batch(pipeline: tuple[Stage, ...], batch: list[Msg]) -> tuple[dict[str, list[tuple]], list[tuple], int]:
    """Run each message through the pipeline: (rows per staging table, reject rows, newest fix ms)."""
    rows: dict[str, list[tuple]] = defaultdict(list)
    rejects = []
    for msg in batch:
        process(pipeline, msg)
        for table, row in msg.rows:
            rows[table].append(row)
        if msg.rejects:
            recv = store.utc_from_ms(msg.recv_ms)
            rejects.extend((recv, msg.topic, raw, reason) for raw, reason in msg.rejects)
    newest = max((r[2] for r in rows.get(POS, ())), default=0)
    return rows, rejects, newest


class Writer:
    """Drains the inbox into the database until the inbox is closed and empty."""

    def __init__(self, database_url: str, inbox: Inbox, source: MqttSource, pipeline: tuple[Stage, ...],
                 stats: Stats, batch_size: int, batch_ms: int, limits: Limits = Limits()):
        self.database_url = database_url
        self.limits = limits   # a command slower than limits.command_s counts as a lost connection
        self.inbox = inbox
        self.source = source
        self.pipeline = pipeline
        self.stats = stats
        self.batch_size = batch_size
        self.batch_s = batch_ms / 1000
        self.conn: asyncpg.Connection | None = None
        self.stopping = False   # set on shutdown: give up retrying rather than hang

    async def run(self) -> None:
        """Batch, write, ack; return once the inbox is closed and drained."""
        try:
            while True:
                batch = await asyncio.to_thread(self.inbox.take, self.batch_size, self.batch_s, IDLE_S)
                if not batch:
                    if self.inbox.closed and not len(self.inbox):
                        return
                    continue
                await self.write(batch)
                self.source.ack(batch)
        except Stopped:
            log.warning("stopping with the database unreachable: %d message(s) left unacknowledged for the broker",
                        len(self.inbox))
        finally:
            if self.conn is not None:
                await self.conn.close()

    async def write(self, batch: list[Msg]) -> None:
        """Run the pipeline over the batch and commit it (retrying connection errors)."""
        started = time.monotonic()
        rows, rejects, newest = build_batch(self.pipeline, batch)
        try:
            await self._commit(rows, rejects)
            log.debug("committed a batch of %d message(s) in %.1f ms", len(batch), (time.monotonic() - started) * 1000)
        except REFUSED as exc:
            log.error("batch of %d refused by the database (%s); writing it one message at a time", len(batch), exc)
            await self._one_by_one(batch)
        self.stats.record_batch(len(batch), sum(map(len, rows.values())), len(rejects), newest)

    async def _commit(self, rows: dict[str, list[tuple]], rejects: list[tuple]) -> None:
        delay = 0.5
        while True:
            try:
                if self.conn is None or self.conn.is_closed():
                    self.conn = await connect(self.database_url, self.limits)
                    await store.prepare(self.conn)
                await store.write_batch(self.conn, rows, rejects)
                if self.stats.db != "ok":
                    log.info("database connection ok")
                self.stats.db = "ok"
                return
            except Exception as exc:
                if not is_connection_error(exc):
                    raise
                self.stats.db = "not answering" if isinstance(exc, (TimeoutError, NotAnswering)) else "down"
                self.stats.backlog = len(self.inbox)
                log.error("database unreachable (%s: %s); not acknowledging, retry in %.1f s, backlog %d",
                          type(exc).__name__, exc or f"no reply within {self.limits.command_s:g} s", delay,
                          len(self.inbox))
                if self.conn is not None:
                    self.conn.terminate()
                    self.conn = None
                if self.stopping:
                    raise Stopped from exc
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, 10.0)

    async def _one_by_one(self, batch: list[Msg]) -> None:
        for msg in batch:
            rows: dict[str, list[tuple]] = defaultdict(list)
            for table, row in msg.rows:
                rows[table].append(row)
            recv = store.utc_from_ms(msg.recv_ms)
            rejects = [(recv, msg.topic, raw, reason) for raw, reason in msg.rejects]
            try:
                await self._commit(rows, rejects)
            except REFUSED as exc:
                reason = f"database refused it: {type(exc).__name__}: {exc}"
                log.warning("rejected %s: %s", msg.topic, reason)
                await self._commit({}, [(recv, msg.topic, msg.payload, reason[:2000])])


def backlog_alarm(inbox: Inbox, stats: Stats, since: float | None) -> float | None:
    """Log an alarm while the inbox stays nearly full; returns when the backlog began (or None)."""
    if len(inbox) < 0.9 * inbox.maxsize and stats.db == "ok":
        return None
    now = time.monotonic()
    if since is not None and now - since > 10:
        log.warning("BACKLOG: %d messages waiting for %.0f s (db %s); the broker is holding the rest",
                    len(inbox), now - since, stats.db)
    return since or now
