"""`qingzhi ingest`: migrate, connect, then run the writer and housekeeping until signalled.

Shutdown order (SIGTERM/SIGINT): stop input (the inbox takes no more; later deliveries stay
unacknowledged and come back next session), drain, final commit and acks, disconnect, close.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from datetime import datetime, timezone

from ingest.enrich import Jurisdictions
from ingest.housekeeping import Housekeeping
from ingest.inbox import Inbox
from ingest.pipeline import build_pipeline
from ingest.amqp_source import AmqpSource
from ingest.source import MqttSource, Source, default_client_id
from ingest.stats import Stats, log_line
from ingest.writer import Writer
from qingzhi.config import Settings, require_caller_key
from qingzhi.db import Limits, migrate_url

log = logging.getLogger("qingzhi.ingest")


def run(settings: Settings) -> None:
    """Run the ingest until SIGTERM/SIGINT."""
    logging.basicConfig(level=os.environ.get("QZ_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_main(settings))


async def _main(settings: Settings) -> None:
    applied = await migrate_url(settings.database_url)
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    instance = settings.client_id or default_client_id()
    started = datetime.now(timezone.utc)
    stats, jurisdictions = Stats(), Jurisdictions()
    source: Source
    if settings.source == "amqp":
        # A batch of prefetch per queue consumed, and one more: a delivery never waits (amqp_source.py).
        inbox = Inbox(maxsize=(settings.amqp_queues + 1) * settings.batch_size)
        source = AmqpSource(settings, inbox, instance, lambda: jurisdictions.locator.ids)
    else:
        # Room for two batches: paho keeps reading while the writer commits the previous one.
        inbox = Inbox(maxsize=2 * settings.batch_size)
        source = MqttSource(settings, inbox, instance)
    limits = Limits(settings.db_connect_timeout_s, settings.ingest_db_timeout_s)
    keeper = Housekeeping(settings, instance, started, stats, inbox, source, jurisdictions, limits)
    await keeper.start()           # partitions and stations before the first message
    await keeper.save_stats()      # `qingzhi status` lists this process from the start
    pipeline = build_pipeline(settings.topic_root, require_caller_key(settings), jurisdictions,
                              settings.owntracks_prefix)
    writer = Writer(settings.database_url, inbox, source, pipeline, stats, settings.batch_size, settings.batch_ms,
                    limits)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await source.open()
    log.info("ingest %s running (batch %d rows / %d ms)", instance, settings.batch_size, settings.batch_ms)
    writing = asyncio.create_task(writer.run())
    keeping = asyncio.create_task(keeper.run())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({writing, stopping}, return_when=asyncio.FIRST_COMPLETED)

    log.info("stopping: no new input, draining %d message(s)", len(inbox))
    inbox.close()
    writer.stopping = True
    try:
        await writing           # re-raises a writer crash
    finally:
        stopping.cancel()
        keeping.cancel()
        await source.close()
        try:
            log.info("final: %s", log_line(await keeper.save_stats(final=True)))
        except Exception as exc:  # noqa: BLE001 - the stats row is a courtesy at exit
            log.warning("could not save final stats: %s", exc)
        await keeper.close()
    log.info("ingest stopped")
