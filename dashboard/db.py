"""One asyncpg pool for the whole dashboard, owned by a long-lived event-loop thread.

Dash runs callbacks on Flask worker threads, each with no loop of its own; an asyncpg pool
is tied to the loop that made it. So the pool lives in one background loop, and callbacks
submit coroutines to it and wait for the answer (`Database.run`).

Every call is bounded: a database that stops answering makes the request fail with
NotAnswering after the timeout (instead of holding a Flask thread for minutes), and the
abandoned call is cancelled in the loop, which frees its pooled connection.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from qingzhi.config import Settings
from qingzhi.db import Limits, NotAnswering, create_pool

T = TypeVar("T")
QUERY_TIMEOUT_S: float = Settings.model_fields["dashboard_db_timeout_s"].default


class Database:
    """Synchronous face of an asyncpg pool running in its own thread."""

    def __init__(self, url: str, *, max_size: int = 8, limits: Limits = Limits(command_s=QUERY_TIMEOUT_S)) -> None:
        self.timeout_s = limits.command_s or QUERY_TIMEOUT_S
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="qz-db-loop", daemon=True)
        self._thread.start()
        self.pool: asyncpg.Pool = self._submit(create_pool(url, min_size=1, max_size=max_size, limits=limits),
                                               limits.connect_s + self.timeout_s)

    def _submit(self, coro: Awaitable[T], timeout_s: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        try:
            return future.result(timeout_s)
        except TimeoutError:   # ours, or asyncpg's command timeout inside
            future.cancel()    # the loop cancels the call; asyncpg cancels the query and the pool takes the connection back
            raise NotAnswering(timeout_s) from None

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Call `await fn(conn, *args, **kwargs)` with a pooled connection; return its result.
        NotAnswering if it takes longer than the timeout (acquiring the connection included)."""
        return self.run_within(self.timeout_s, fn, *args, **kwargs)

    def run_within(self, timeout_s: float, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """`run` with its own timeout (the health check's is short)."""

        async def call() -> T:
            async with self.pool.acquire() as conn:
                return await fn(conn, *args, **kwargs)

        return self._submit(call(), timeout_s)

    def ping(self, timeout_s: float) -> None:
        """One trivial query through the pool; NotAnswering if no answer within timeout_s."""
        self.run_within(timeout_s, _select_one)

    def act(self, action: Callable[..., Awaitable[T]], actor: Any, *args: Any, **kwargs: Any) -> T:
        """Call a domain action, `await action(actor, conn, *args, **kwargs)`, with a pooled connection."""
        return self.run(lambda conn, *a, **kw: action(actor, conn, *a, **kw), *args, **kwargs)

    def close(self) -> None:
        """Close the pool and stop the loop thread."""
        try:
            self._submit(self.pool.close(), self.timeout_s)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


async def _select_one(conn: asyncpg.Connection) -> None:
    await conn.fetchval("SELECT 1")
