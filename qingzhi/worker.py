"""`qingzhi worker`: the service that runs the duty loop (duties.py) every few seconds until signalled.

It is its own process, not part of the ingest, because the aggregate refresh is CPU work
(pandas) that would stall the ingest's event loop and its acknowledgements; and not part of
the dashboard, so that alerts are raised with no page open. Run one or more: the advisory
lock lets only one round run at a time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

import asyncpg

from qingzhi.config import Settings
from qingzhi.db import connect, migrate_url
from qingzhi.duties import DutyLoop

log = logging.getLogger("qingzhi.worker")
RETRY_S = 5.0


def run(settings: Settings, every_s: float) -> None:
    """Run rounds every `every_s` seconds until SIGTERM/SIGINT."""
    logging.basicConfig(level=os.environ.get("QZ_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_main(settings, every_s))


async def _main(settings: Settings, every_s: float) -> None:
    applied = await migrate_url(settings.database_url)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    duties = DutyLoop(settings, f"worker-{socket.gethostname()}-{os.getpid()}")
    log.info("worker %s running: a round every %g s", duties.instance, every_s)
    conn: asyncpg.Connection | None = None
    while not stop.is_set():
        pause = every_s
        try:
            if conn is None or conn.is_closed():
                conn = await connect(settings.database_url)
            await duties.round(conn)
        except Exception as exc:  # noqa: BLE001 - the loop must outlive a database outage
            log.warning("duty round failed (%s: %s); retrying in %g s", type(exc).__name__, exc, RETRY_S)
            if conn is not None:
                conn.terminate()
                conn = None
            pause = max(every_s, RETRY_S)
        try:
            await asyncio.wait_for(stop.wait(), pause)
        except TimeoutError:
            pass
    if conn is not None:
        await conn.close()
    log.info("worker stopped")
