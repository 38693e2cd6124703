"""The RabbitMQ side of scale-out: MQTT topics → consistent-hash exchange → N quorum queues.

RabbitMQ's MQTT plugin publishes every device message to `amq.topic`, its routing key being
the topic with `/` turned into `.` (`qz/v1/s1/u7/gps` → `qz.v1.s1.u7.gps`); 3.10 leaves a `.`
as it is (measured), so ids with dots make the way back ambiguous (see `TopicMapper`). We bind that to
a consistent-hash exchange (the bundled `rabbitmq_consistent_hash_exchange`), which hashes the
routing key: a topic names its unit, so each unit's stream of one kind always lands on the
same queue, in order. Each queue is a quorum queue (replicated on a majority of the nodes:
the MQTT plugin confirms a QoS 1 publish with PUBACK only once the queue has it on a
majority) with a single active consumer, so one worker at a time takes a queue, in order.

Everything here is a declaration: idempotent, run by `up.sh`/the ingest at start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractQueue

from qingzhi.errors import QingzhiError

log = logging.getLogger("qingzhi.ingest")
QUEUE_ARGS: dict[str, Any] = {"x-queue-type": "quorum", "x-single-active-consumer": True}


def exchange_name(topic_root: str) -> str:
    """The hash exchange of one topic root (names are per root: two deployments or tests never share a queue)."""
    return f"{routing_key(topic_root)}.units"


def queue_name(topic_root: str, index: int) -> str:
    """The name of quorum queue number `index` of a topic root."""
    return f"{routing_key(topic_root)}.ingest.{index}"


def routing_key(topic: str) -> str:
    """The AMQP routing key RabbitMQ 3.10's MQTT plugin gives an MQTT topic ('/' → '.')."""
    return topic.replace("/", ".")


class TopicMapper:
    """The MQTT topic back from a routing key, for the pipeline's topic parser.

    Only the separators between the station and the unit (or an OwnTracks user and device)
    are in doubt: the root and prefix are known and a kind has no dot. With one dot there is
    one answer; with more, the split whose first part is a known station wins (else the
    first split, which Enrich then rejects like any unknown station).
    """

    def __init__(self, topic_root: str, owntracks_prefix: str, stations: Callable[[], Iterable[str]]):
        self.roots = ((routing_key(topic_root) + ".", topic_root, True),
                      (routing_key(owntracks_prefix) + ".", owntracks_prefix, False))
        self.stations = stations

    def topic(self, key: str) -> str:
        """The topic the device published to (as far as the key tells)."""
        for prefix, root, has_kind in self.roots:
            if key.startswith(prefix):
                rest = key[len(prefix):]
                if has_kind and rest == "incidents":
                    return f"{root}/incidents"
                head, kind = rest.rsplit(".", 1) if has_kind and "." in rest else (rest, "")
                return "/".join([root, *self._pair(head)] + ([kind] if kind else []))
        return key.replace(".", "/")

    def _pair(self, head: str) -> list[str]:
        cuts = [i for i, ch in enumerate(head) if ch == "."]
        if len(cuts) <= 1:
            return head.split(".")
        known = set(self.stations())
        cut = next((i for i in cuts if head[:i] in known), cuts[0])
        return [head[:cut], head[cut + 1:]]


def binding_keys(topic_root: str, owntracks_prefix: str) -> list[str]:
    """The `amq.topic` bindings that bring what the ingest reads (PROTOCOL.md) to the hash exchange."""
    return [routing_key(topic_root) + ".#", routing_key(owntracks_prefix) + ".#"]


async def declare(channel: AbstractChannel, topic_root: str, owntracks_prefix: str, queues: int) -> list[AbstractQueue]:
    """Declare the hash exchange, its bindings from amq.topic and the quorum queues; return the queues."""
    hashed = await channel.declare_exchange(exchange_name(topic_root), "x-consistent-hash", durable=True)
    topic = await channel.get_exchange("amq.topic", ensure=False)
    for key in binding_keys(topic_root, owntracks_prefix):
        await hashed.bind(topic, routing_key=key)
    out = []
    for i in range(queues):
        queue = await channel.declare_queue(queue_name(topic_root, i), durable=True, arguments=QUEUE_ARGS)
        await queue.bind(hashed, routing_key="1")   # equal weights: an equal share of the hash ring
        out.append(queue)
    return out


async def declare_at(urls: list[str], topic_root: str, owntracks_prefix: str, queues: int) -> list[str]:
    """Connect to the first node that answers, declare the topology, close; the queue names (`qingzhi amqp-setup`)."""
    for url in urls:
        try:
            connection = await aio_pika.connect(url, timeout=10)
            break
        except (OSError, asyncio.TimeoutError, aio_pika.exceptions.AMQPError) as exc:
            log.warning("RabbitMQ node %s: %s", urlsplit(url).netloc.rpartition("@")[2], exc or type(exc).__name__)
    else:
        raise QingzhiError("no RabbitMQ node of amqp_url answers")
    try:
        channel = await connection.channel()
        return [q.name for q in await declare(channel, topic_root, owntracks_prefix, queues)]
    finally:
        await connection.close()


async def delete_at(url: str, topic_root: str, queues: int) -> None:
    """Delete a topic root's hash exchange and queues, with whatever they hold (tests and benchmarks)."""
    connection = await aio_pika.connect(url, timeout=10)
    try:
        channel = await connection.channel()
        for i in range(queues):
            await channel.queue_delete(queue_name(topic_root, i))
        await channel.exchange_delete(exchange_name(topic_root))
    finally:
        await connection.close()
