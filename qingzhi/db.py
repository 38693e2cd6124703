"""PostgreSQL connections with one-line errors, and the schema migration runner.

Migrations are numbered plain-SQL files in `qingzhi/migrations/`, applied in name order,
each in its own transaction, under an advisory lock so that several processes starting at
once apply each file exactly once. We use this small runner rather than Alembic or yoyo
because both need a second, synchronous driver; asyncpg is the only driver here.
Migrations only ever add: a file, once applied, is never edited (its checksum is checked).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
from dataclasses import dataclass
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg

from qingzhi.errors import QingzhiError

T = TypeVar("T")
MIGRATION_LOCK = 7_421_001  # pg_advisory_lock key for migrations
CONNECT_TIMEOUT = 10.0
# The server's own limits run this much longer than the client's: the client normally gives up
# first (and cancels); the server's limits are for a client that went silent mid-statement or
# mid-transaction (a frozen network), whose locks would otherwise be held until TCP gives up.
SERVER_GRACE_S = 5.0
ANALYZE_SHARE, ANALYZE_MIN = 0.1, 1_000  # analyze_after_bulk: autovacuum's share of a table, plus a floor


class NotAnswering(QingzhiError):
    """The database accepted the connection (or the packets) but did not reply in time."""

    def __init__(self, timeout_s: float, where: str | None = None) -> None:
        super().__init__(f"database {where + ' ' if where else ''}not answering (no reply within {timeout_s:g} s)")


@dataclass(frozen=True)
class Limits:
    """How long a service waits for the database: to connect, and for each command (None: no limit;
    migrations, imports and back-fills may legitimately run long)."""

    connect_s: float = CONNECT_TIMEOUT
    command_s: float | None = None

    def asyncpg_kwargs(self) -> dict[str, Any]:
        """asyncpg's connect timeout; with `command_s`, a client-side `command_timeout` and the server-side
        `statement_timeout` and `idle_in_transaction_session_timeout`, SERVER_GRACE_S longer."""
        if not self.command_s:
            return {"timeout": self.connect_s}
        server_ms = str(int((self.command_s + SERVER_GRACE_S) * 1000))
        return {"timeout": self.connect_s, "command_timeout": self.command_s,
                "server_settings": {"statement_timeout": server_ms, "idle_in_transaction_session_timeout": server_ms}}


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


async def _explain(url: str, attempt: Callable[[], Awaitable[T]], connect_s: float) -> T:
    """Run a connect attempt; turn the usual failures into one readable QingzhiError."""
    where = redact(url)
    try:
        return await attempt()
    except asyncpg.InvalidPasswordError:
        raise QingzhiError(f"database {where} refused the credentials (wrong user or password)") from None
    except asyncpg.InvalidAuthorizationSpecificationError as exc:
        raise QingzhiError(f"database {where} refused the connection: {exc}") from None
    except asyncpg.InvalidCatalogNameError as exc:
        raise QingzhiError(f"database {where}: {exc}") from None
    except TimeoutError:   # before OSError, of which it is a subclass
        raise NotAnswering(connect_s, where) from None
    except (OSError, socket.gaierror) as exc:
        raise QingzhiError(f"cannot reach database {where}: {exc.strerror or exc}") from None
    except (asyncpg.ClientConfigurationError, ValueError, OverflowError) as exc:  # a port of 99999, a bad option
        raise QingzhiError(f"bad database URL {where}: {exc}") from None
    except asyncpg.PostgresError as exc:
        raise QingzhiError(f"database {where}: {exc}") from None


async def connect(url: str, limits: Limits = Limits()) -> asyncpg.Connection:
    """One connection, or a QingzhiError saying why not; connecting and each command bounded by `limits`."""
    return await _explain(url, lambda: asyncpg.connect(url, **limits.asyncpg_kwargs()), limits.connect_s)


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 4, limits: Limits = Limits(),
                      **kwargs: Any) -> asyncpg.Pool:
    """A connection pool, or a QingzhiError saying why not; connecting and each command bounded by `limits`."""
    return await _explain(
        url, lambda: asyncpg.create_pool(url, min_size=min_size, max_size=max_size, **limits.asyncpg_kwargs(),
                                         **kwargs),
        limits.connect_s,
    )


@contextlib.asynccontextmanager
async def answering_within(url: str, timeout_s: float) -> AsyncIterator[None]:
    """Run the block (connect and query) within `timeout_s`, or raise NotAnswering: a database
    that has gone silent is reported in seconds instead of hanging the caller."""
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except TimeoutError:
        raise NotAnswering(timeout_s, redact(url)) from None



async def read_within(url: str, timeout_s: float, query: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Connect, run one read and close, all within `timeout_s` (NotAnswering otherwise), for status
    commands: a silent server's connection is terminated, since a polite close would wait on it."""
    async with answering_within(url, timeout_s):
        conn = await connect(url, Limits(connect_s=timeout_s))
        try:
            result = await query(conn)
        except BaseException:
            conn.terminate()
            raise
        await conn.close()
        return result

def migration_files() -> list[tuple[str, str]]:
    """(name, sql) of every migration, in the order they apply."""
    folder = resources.files("qingzhi") / "migrations"
    files = sorted(p for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(p.name, p.read_text(encoding="utf-8")) for p in files]


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the migrations this database lacks; return their names. Idempotent."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = dict(await conn.fetch("SELECT name, checksum FROM schema_migrations"))
        applied = []
        for name, sql in migration_files():
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if name in done:
                if done[name] != checksum:
                    raise QingzhiError(f"migration {name} was changed after it was applied; add a new one instead")
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", name, checksum)
            applied.append(name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


async def migrate_url(url: str) -> list[str]:
    """Connect, migrate, close."""
    conn = await connect(url)
    try:
        return await migrate(conn)
    finally:
        await conn.close()


async def analyze_after_bulk(conn: asyncpg.Connection, tables: Sequence[str], changed: int) -> bool:
    """ANALYZE `tables` when `changed` rows are many for the first of them; return whether it did.

    "Many" is autovacuum's rule (10 % of the rows it last counted), plus a thousand so that only a
    bulk change pays. Until a table is analysed the planner keeps its old picture: after a
    million-row import an_incident still looked empty, and each small refresh that followed scanned
    all of it (1.2 s for 20 incidents instead of 0.35 s) until autovacuum's next look, which on a
    server with autovacuum off never comes.
    """
    if changed < ANALYZE_MIN:  # the usual small change: not even a look at the table's count
        return False
    counted = await conn.fetchval("SELECT reltuples FROM pg_class WHERE oid = $1::regclass", tables[0])
    if changed < ANALYZE_MIN + ANALYZE_SHARE * max(counted, 0):
        return False
    await conn.execute(f"ANALYZE {', '.join(tables)}")
    return True
