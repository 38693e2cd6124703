"""The one writer (HA recorder style): take a batch, run the pipeline, commit, then ack.

Connection-type database errors are retried (with back-off, acknowledging nothing meanwhile,
so the broker keeps every message). Any other error on a batch means the database (or the
driver, encoding a value) refused something in it: the batch is split in halves, each written
on its own, down to the one message that is refused, which goes to rejects with the reason.
A few refused messages among thousands cost a few dozen extra statements, and the ingest
never dies on a message nor loops on one. Should even the reject of a single message fail,
the database itself is failing (a full disk, say): the writer backs off and writes the whole
batch again later, still acknowledging nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable

import asyncpg
from asyncpg.exceptions import _base as asyncpg_base   # the client-side DataError lives only here

from ingest import store
from ingest.inbox import Inbox
from ingest.message import POS, Msg
from ingest.pipeline import Stage, process
from ingest.source import Source
from ingest.stats import Stats
from qingzhi.db import Limits, NotAnswering, connect
from qingzhi.errors import QingzhiError

log = logging.getLogger("qingzhi.ingest")
IDLE_S = 0.01   # commit early once input pauses this long (see Inbox.take)
CONNECTION_ERRORS = (
    OSError, TimeoutError, asyncio.TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
    asyncpg.ConnectionDoesNotExistError,
    # The server's idle_in_transaction_session_timeout (qingzhi.db.Limits) ended the session: a
    # silent link, not bad data. (Its statement_timeout is SQLSTATE class 57: TRANSIENT_CLASSES.)
    asyncpg.IdleInTransactionSessionTimeoutError,
    # A connection the server cut while idle can fail its next command this way ("another
    # operation is in progress"); a new connection cures it.
    asyncpg_base.InternalClientError,
)

class Stopped(Exception):
    """Shutdown was asked while the database was unreachable: leave the batch unacknowledged."""


class Failing(Exception):
    """The database refused even a single message's reject row: it is failing, not the message."""


# SQLSTATE classes that say the database is in trouble, not the data: deadlocks and
# serialization failures (40), out of disk or memory (53), cancelled or shutting down (57),
# system errors (58). Retried like a lost connection; never a reason to reject a message.
TRANSIENT_CLASSES = ("40", "53", "57", "58")


def is_transient(exc: BaseException) -> bool:
    """True for database errors that waiting cures."""
    return isinstance(exc, asyncpg.PostgresError) and (exc.sqlstate or "")[:2] in TRANSIENT_CLASSES


def is_connection_error(exc: BaseException) -> bool:
    """True for errors that a reconnect can cure (qingzhi.db.connect turns them into QingzhiError)."""
    return isinstance(exc, CONNECTION_ERRORS + (QingzhiError,)) and not isinstance(exc, asyncpg_base.DataError)


def run_pipeline(pipeline: tuple[Stage, ...], batch: list[Msg]) -> int:
    """Run each message through the pipeline; the newest fix time (ms) of the batch."""
    newest = 0
    for msg in batch:
        process(pipeline, msg)
        for table, row in msg.rows:
            if table == POS and row[2] > newest:
                newest = row[2]
    return newest


Batch = tuple[dict[str, list[tuple]], list[tuple], Callable[[int, str], None] | None]


def assemble(batch: list[Msg]) -> Batch:
    """(rows per staging table, each led by its message's index; reject rows; refuse(index, reason))."""
    rows: dict[str, list[tuple]] = defaultdict(list)
    rejects = []
    for i, msg in enumerate(batch):
        for table, row in msg.rows:
            rows[table].append((i, *row))
        rejects.extend(store.reject_row(msg.recv_ms, msg.topic, raw, reason) for raw, reason in msg.rejects)

    def refuse(index: int, reason: str) -> None:
        msg = batch[index]
        log.warning("rejected %s: %s", msg.topic, reason)
        rejects.append(store.reject_row(msg.recv_ms, msg.topic, msg.payload, reason))
    return rows, rejects, refuse


class Writer:
    """Drains the inbox into the database until the inbox is closed and empty."""

    def __init__(self, database_url: str, inbox: Inbox, source: Source, pipeline: tuple[Stage, ...],
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
        self.counted = [0, 0]   # rows and rejects of the batch being written
        self.committed: set[int] = set()  # id() of its messages already committed (the batch holds them alive)

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
        """Run the pipeline over the batch and commit it: retry connection errors, isolate refused messages."""
        started = time.monotonic()
        newest = run_pipeline(self.pipeline, batch)
        delay = 1.0
        self.counted = [0, 0]
        self.committed = set()
        left = batch
        while True:
            try:
                await self._store(left)
                break
            except Failing as exc:
                # what bisection committed before the failure stays committed: retry only the rest, or its
                # reject rows (which have no natural key) would be written twice
                left = [m for m in left if id(m) not in self.committed]
                self.stats.db = "failing"
                log.error("database failing (%s); not acknowledging %d message(s), retry in %.0f s",
                          exc.__cause__, len(left), delay)
                if self.stopping:
                    raise Stopped from exc
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        log.debug("committed a batch of %d message(s) in %.1f ms", len(batch), (time.monotonic() - started) * 1000)
        self.stats.record_batch(len(batch), self.counted[0], self.counted[1], newest)

    async def _store(self, msgs: list[Msg]) -> None:
        """Commit these messages in one transaction; on a refusal, halve and try each half."""
        try:
            rows, rejects = await self._commit(lambda: assemble(msgs))
        except (Stopped, Failing):
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the database refused, find the message
            if len(msgs) > 1:
                log.warning("%d message(s) refused by the database (%s: %s); isolating the culprit",
                            len(msgs), type(exc).__name__, exc)
                half = len(msgs) // 2
                await self._store(msgs[:half])
                await self._store(msgs[half:])
                return
            await self._refuse(msgs[0], exc)
            return
        self.counted[0] += sum(map(len, rows.values()))
        self.counted[1] += len(rejects)
        self.committed.update(map(id, msgs))

    async def _refuse(self, msg: Msg, exc: Exception) -> None:
        reason = f"database refused it: {type(exc).__name__}: {exc}"
        log.warning("rejected %s: %s", msg.topic, reason)
        try:
            await self._commit(lambda: ({}, [store.reject_row(msg.recv_ms, msg.topic, msg.payload, reason)], None))
        except (Stopped, Failing):
            raise
        except Exception as again:  # noqa: BLE001
            raise Failing(f"{type(again).__name__}: {again}") from again
        self.counted[1] += 1
        self.committed.add(id(msg))

    async def _commit(self, build: Callable[[], Batch]) -> tuple[dict[str, list[tuple]], list[tuple]]:
        """Write what build() makes (afresh on each attempt: a failed one may have refused some).

        After a lost connection, the last attempt may have committed with its answer lost on the
        wire: if its reject rows are in (they carry the batch id), it is not written again.
        """
        delay = 0.5
        batch_id, sent = uuid.uuid4(), None
        while True:
            try:
                if self.conn is None or self.conn.is_closed():
                    self.conn = await connect(self.database_url, self.limits)
                    await store.prepare(self.conn)
                if sent is not None and sent[1] and await store.written(self.conn, batch_id):
                    log.info("the last attempt had committed (its answer was lost); not writing it again")
                else:
                    rows, rejects, refuse = build()
                    sent = rows, rejects
                    await store.write_batch(self.conn, rows, rejects, refuse, batch_id)
                if self.stats.db != "ok":
                    log.info("database connection ok")
                self.stats.db = "ok"
                return sent
            except Exception as exc:
                if not (is_connection_error(exc) or is_transient(exc)):
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

def backlog_alarm(inbox: Inbox, stats: Stats, since: float | None) -> float | None:
    """Log an alarm while the inbox stays nearly full; returns when the backlog began (or None)."""
    if len(inbox) < 0.9 * inbox.maxsize and stats.db == "ok":
        return None
    now = time.monotonic()
    if since is not None and now - since > 10:
        log.warning("BACKLOG: %d messages waiting for %.0f s (db %s); the broker is holding the rest",
                    len(inbox), now - since, stats.db)
    return since or now
