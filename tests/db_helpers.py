"""Run a coroutine function on a fresh connection to a test database, from synchronous test code."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")


def with_conn(url: str, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """`await fn(conn, *args, **kwargs)` on a new connection to `url`, closed afterwards."""

    async def go() -> T:
        conn = await asyncpg.connect(url)
        try:
            return await fn(conn, *args, **kwargs)
        finally:
            await conn.close()

    return asyncio.run(go())
