"""The AMQP side: consume the RabbitMQ cluster's quorum queues into the same inbox as MQTT.

Behind the same pipeline and writer as `MqttSource`: messages are acknowledged only after
their batch commits. Delivery tags are consecutive per channel, so the source keeps the tags
the writer has committed and acknowledges, with one `multiple` ack, up to the highest tag
below which everything is committed: never a message still in the inbox or being written.
Tags belong to one channel: after a reconnect (a new generation) the old ones are skipped,
and the broker redelivers those messages (the database's unique keys absorb the repeats).

Each consumer's prefetch is one batch; the inbox holds (queues + 1) batches, so a delivery
never waits for room (waiting would stall the event loop); the prefetch is the back-pressure.
A worker consumes its preferred queues (QZ_AMQP_PREFER) at once and the others after
STANDBY_S: with single active consumer it stands by on them, and takes a queue over when its
worker dies. When its node dies it moves to the next node of QZ_AMQP_URL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import aiormq
from aio_pika.abc import AbstractQueue
from aiormq.abc import DeliveredMessage

from ingest.amqp_topology import TopicMapper, declare
from ingest.inbox import Inbox
from ingest.message import Msg
from qingzhi.config import Settings
from qingzhi.errors import QingzhiError

log = logging.getLogger("qingzhi.ingest")
# aiormq logs a lost node with a full traceback; `_keep` says it in one line and moves on.
logging.getLogger("aiormq.connection").setLevel(logging.ERROR)
STANDBY_S = 3.0        # let each worker take its preferred queues before the others stand by on them
RECONNECT_MAX_S = 8.0
CONNECT_TIMEOUT_S = 5.0
CONNECTION_ERRORS = (aio_pika.exceptions.AMQPError, OSError, asyncio.TimeoutError, ConnectionError)


def parse_amqp_urls(text: str | None) -> list[str]:
    """The node URLs of QZ_AMQP_URL; a QingzhiError naming the bad one."""
    urls = [u.strip() for u in (text or "").split(",") if u.strip()]
    if not urls:
        raise QingzhiError("no amqp_url: set QZ_AMQP_URL (comma-separated amqp:// URLs of the RabbitMQ nodes)")
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
            raise QingzhiError(f"bad AMQP URL {display(url)!r}: must be amqp://user:pass@host:port/")
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when asked
        except ValueError:
            raise QingzhiError(f"bad AMQP URL {parts.scheme}://{parts.hostname}: bad port") from None
    return urls


def display(url: str) -> str:
    """The node address without credentials, for logs and `qingzhi status`."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 5672}"


def preferred(settings: Settings) -> list[int]:
    """The queue numbers this worker consumes first (all when QZ_AMQP_PREFER is unset)."""
    if not settings.amqp_prefer:
        return list(range(settings.amqp_queues))
    wanted = sorted({int(x) for x in settings.amqp_prefer.split(",")})
    if wanted[-1] >= settings.amqp_queues:
        raise QingzhiError(f"amqp_prefer {settings.amqp_prefer!r} names a queue beyond the {settings.amqp_queues} "
                           "there are (numbered from 0)")
    return wanted


class AmqpSource:
    """Consumes the quorum queues, feeds the inbox, acknowledges committed messages, fails over."""

    def __init__(self, settings: Settings, inbox: Inbox, client_id: str, stations: Callable[[], Iterable[str]]):
        self.settings = settings
        self.topics = TopicMapper(settings.topic_root, settings.owntracks_prefix, stations)
        self.inbox = inbox
        self.client_id = client_id
        self.urls = parse_amqp_urls(settings.amqp_url)
        self.prefer = preferred(settings)
        self.generation = 0
        self.connected = False
        self.node = ""
        self._next = self.prefer[0] % len(self.urls)    # workers preferring different queues start on different nodes
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._queues: list[AbstractQueue] = []
        self._raw: aiormq.Channel | None = None     # aio-pika's channel underneath: consume and ack on it
        self._done: set[int] = set()
        self._acked = 0
        self._taking: set[str] = set()    # queues that delivered on this channel: we are their active consumer
        self._lost = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()

    async def open(self) -> None:
        """Connect to the first node that answers (a one-line error when none does) and start consuming."""
        await self._connect_any(first=True)
        self._spawn(self._keep())

    async def _connect_any(self, first: bool = False) -> None:
        delay = 0.5
        while not self.inbox.closed:
            for k in range(len(self.urls)):
                url = self.urls[(self._next + k) % len(self.urls)]
                try:
                    await self._open(url)
                    self._next = (self._next + k) % len(self.urls)
                    return
                except CONNECTION_ERRORS as exc:
                    log.warning("cannot use RabbitMQ node %s: %s", display(url), exc or type(exc).__name__)
            if first:
                raise QingzhiError(f"no RabbitMQ node answers ({', '.join(map(display, self.urls))})")
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    async def _open(self, url: str) -> None:
        connection = await aio_pika.connect(url, timeout=CONNECT_TIMEOUT_S, client_properties={
            "connection_name": self.client_id})
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self.settings.batch_size)
            queues = await declare(channel, self.settings.topic_root, self.settings.owntracks_prefix,
                                   self.settings.amqp_queues)
        except BaseException:
            await connection.close()
            raise
        self.generation += 1
        gen = self.generation
        self._done.clear()
        self._acked = 0
        self._taking.clear()
        self._raw = await channel.get_underlay_channel()
        self._connection, self._queues, self.node = connection, queues, display(url)
        self._lost.clear()
        connection.close_callbacks.add(lambda *_: self._on_lost(gen))
        channel.close_callbacks.add(lambda *_: self._on_lost(gen))
        for i in self.prefer:
            await self._consume(queues[i].name, gen)
        others = [q for i, q in enumerate(queues) if i not in self.prefer]
        if others:
            self._spawn(self._stand_by(others, gen))
        self.connected = True
        log.info("consuming %s on %s as %s (prefetch %d each)", ", ".join(queues[i].name for i in self.prefer),
                 self.node, self.client_id, self.settings.batch_size)

    async def _stand_by(self, queues: list[AbstractQueue], gen: int) -> None:
        await asyncio.sleep(STANDBY_S)
        if gen == self.generation and self.connected:
            for q in queues:
                await self._consume(q.name, gen)

    async def _consume(self, queue: str, gen: int) -> None:
        # On aiormq's channel itself: aio-pika's consumer wraps each delivery in an object and a second
        # task, ~20 µs a message of the ingest's ~115 (measured with a do-nothing consumer: 55 → 35 µs).
        await self._raw.basic_consume(queue, partial(self._on_message, queue, gen), no_ack=False)

    def _on_lost(self, gen: int) -> None:
        if gen == self.generation and self.connected:
            self.connected = False
            self._lost.set()

    async def _keep(self) -> None:
        """Reconnect, to the next node first, whenever the connection is lost (until closed)."""
        while True:
            await self._lost.wait()
            if self.inbox.closed:
                return
            log.warning("lost RabbitMQ node %s; moving to the next node", self.node)
            self._next = (self._next + 1) % len(self.urls)
            await self._connect_any()

    async def _on_message(self, queue: str, gen: int, message: DeliveredMessage) -> None:
        # Only hand over; the inbox has room for every unacknowledged delivery (see the module doc).
        if gen != self.generation:
            return      # from a channel already gone: the broker redelivers it
        self._taking.add(queue)
        deliver = message.delivery
        self.inbox.put(Msg(self.topics.topic(deliver.routing_key or ""), message.body, int(time.time() * 1000),
                           deliver.delivery_tag, 1, gen))

    def ack(self, batch: list[Msg]) -> int:
        """Note the committed messages of the current channel; ack up to the highest tag below which all are."""
        gen, n = self.generation, 0
        for m in batch:
            if m.generation == gen:
                self._done.add(m.mid)
                n += 1
        top = self._acked
        while top + 1 in self._done:
            top += 1
            self._done.discard(top)
        if top > self._acked:
            self._acked = top
            self._spawn(self._send_ack(self._raw, top))
        return n

    async def _send_ack(self, channel: aiormq.Channel, tag: int) -> None:
        try:
            await channel.basic_ack(tag, multiple=True)
        except CONNECTION_ERRORS + (RuntimeError,) as exc:   # the channel died: the broker redelivers
            log.warning("ack lost with the channel (%s); the broker will redeliver", exc or type(exc).__name__)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def figures(self) -> dict[str, Any]:
        """For the stats row: the node, and per queue the messages waiting and whether this worker takes it
        (it had deliveries from it on this channel: with a single active consumer, only that one gets any)."""
        out: dict[str, Any] = {"source": "amqp", "node": self.node if self.connected else "-", "queues": {}}
        for q in self._queues if self.connected else []:
            try:
                ok = await asyncio.wait_for(q.declare(), CONNECT_TIMEOUT_S)
            except CONNECTION_ERRORS:
                continue
            out["queues"][q.name] = {"ready": ok.message_count, "taking": q.name in self._taking}
        return out

    async def close(self) -> None:
        """Send the acks already due, then close the connection (the rest stays with the broker)."""
        pending = [t for t in self._tasks if not t.done()]
        for task in pending:
            if task.get_coro().__name__ != "_send_ack":    # the reconnect and standby loops
                task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self.connected = False
        if self._connection is not None:
            await self._connection.close()
