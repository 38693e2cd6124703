"""One asyncpg pool for the whole dashboard, owned by a long-lived event-loop thread.

Dash runs callbacks on Flask worker threads, each with no loop of its own; an asyncpg pool
is tied to the loop that made it. So the pool lives in one background loop, and callbacks
submit coroutines to it and wait for the answer (`Database.run`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from qingzhi.db import create_pool

T = TypeVar("T")
QUERY_TIMEOUT_S = 30.0


class Database:
    """Synchronous face of an asyncpg pool running in its own thread."""

    def __init__(self, url: str, *, max_size: int = 8) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="qz-db-loop", daemon=True)
        self._thread.start()
        self.pool: asyncpg.Pool = self._submit(create_pool(url, min_size=1, max_size=max_size))

    def _submit(self, coro: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(QUERY_TIMEOUT_S)  # type: ignore[arg-type]

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Call `await fn(conn, *args, **kwargs)` with a pooled connection; return its result."""

        async def call() -> T:
            async with self.pool.acquire() as conn:
                return await fn(conn, *args, **kwargs)

        return self._submit(call())

    def act(self, action: Callable[..., Awaitable[T]], actor: Any, *args: Any, **kwargs: Any) -> T:
        """Call a domain action, `await action(actor, conn, *args, **kwargs)`, with a pooled connection."""
        return self.run(lambda conn, *a, **kw: action(actor, conn, *a, **kw), *args, **kwargs)

    def close(self) -> None:
        """Close the pool and stop the loop thread."""
        self._submit(self.pool.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
