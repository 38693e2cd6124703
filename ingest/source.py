"""The MQTT side: a persistent QoS 1 session whose callback only hands messages to the inbox.

Acks go back only after the batch commits (paho manual_ack). Packet ids are only valid on
the connection they came on, so every message carries the connection's generation and an
ack for an older one is skipped: the broker redelivers that message on the new connection.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from typing import Any, Protocol

import paho.mqtt.client as mqtt

from ingest.inbox import Inbox
from ingest.message import Msg
from ingest.topics import Topics
from qingzhi.config import Settings
from qingzhi.mqtt import connect_blocking, make_client

log = logging.getLogger("qingzhi.ingest")

# How many unacknowledged QoS 1 messages the broker may send us at once (MQTT v5 Receive
# Maximum, at most 65535). Mosquitto's default otherwise is max_inflight_messages = 20, which
# with acks held until commit would cap the ingest at 20 messages per commit round trip.
RECEIVE_MAXIMUM = 65535
# Longest pause between reconnect attempts (paho doubles it from ~1 s). A refused connect costs
# nothing, and the pause is how long the ingest may stay away after the broker is back: with
# paho's 30 s a 10 s network cut kept it away 10 s longer (tests/test_ingest_faults.py).
RECONNECT_MAX_S = 8


class Source(Protocol):
    """Where messages come from (MQTT here, AMQP in amqp_source.py): the writer acks through it."""

    connected: bool

    async def open(self) -> None:
        """Connect and start handing messages to the inbox."""

    def ack(self, batch: list[Msg]) -> int:
        """Acknowledge the committed messages of the batch that still can be; how many."""

    async def figures(self) -> dict[str, Any]:
        """Source-specific figures for the stats row."""

    async def close(self) -> None:
        """Send the acks due and disconnect."""


def default_client_id() -> str:
    """A stable client id per host: the persistent session survives restarts."""
    return f"qingzhi-ingest-{socket.gethostname()}"[:64]


class MqttSource:
    """Subscribes, feeds the inbox, sends acks, and keeps track of the connection."""

    def __init__(self, settings: Settings, inbox: Inbox, client_id: str):
        self.settings = settings
        self.inbox = inbox
        self.client_id = client_id
        self.topics = Topics(settings.topic_root, settings.owntracks_prefix)
        self.generation = 0
        self.connected = False
        self.client, self.target = make_client(settings, client_id=client_id, persistent=True, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_connect_fail = self._on_connect_fail
        self.client.reconnect_delay_set(min_delay=1, max_delay=RECONNECT_MAX_S)

    def start(self) -> None:
        """Connect (a one-line error if the broker cannot be reached) and start paho's thread."""
        connect_blocking(self.client, self.target, self.settings, persistent=True, receive_maximum=RECEIVE_MAXIMUM)

    async def open(self) -> None:
        """`start`, off the event loop."""
        await asyncio.to_thread(self.start)

    async def figures(self) -> dict[str, Any]:
        """Nothing beyond the common figures: the broker keeps the backlog."""
        return {"source": "mqtt"}

    async def close(self) -> None:
        """`stop`, off the event loop."""
        await asyncio.to_thread(self.stop)

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if getattr(reason, "is_failure", False):
            log.error("MQTT broker %s refused the connection: %s", self.target.display, reason)
            return
        self.generation += 1
        self.connected = True
        log.info("connected to %s as %s (session present: %s)",
                 self.target.display, self.client_id, getattr(flags, "session_present", "?"))
        client.subscribe([(f, 1) for f in self.topics.filters(self.settings.share_group)])

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int, reasons: list, props: object) -> None:
        filters = self.topics.filters(self.settings.share_group)
        refused = [f"{f} ({r})" for f, r in zip(filters, reasons) if getattr(r, "is_failure", False)]
        if refused:
            log.error("broker refused the subscription to %s", ", ".join(refused))
        else:
            log.info("subscribed to %s (QoS 1)", ", ".join(filters))

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        self.connected = False
        # Jitter the back-off so that many ingest processes do not reconnect in lockstep.
        client.reconnect_delay_set(min_delay=random.uniform(0.5, 2.0), max_delay=RECONNECT_MAX_S)
        if not self.inbox.closed:
            log.warning("disconnected from %s: %s; reconnecting", self.target.display, reason)

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        if not self.inbox.closed:
            log.warning("cannot reach %s; retrying", self.target.display)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        # Runs in paho's thread: only hand over. Blocking here (inbox full) is the back-pressure.
        self.inbox.put(Msg(message.topic, message.payload, int(time.time() * 1000),
                           message.mid, message.qos, self.generation))

    def ack(self, batch: list[Msg]) -> int:
        """Acknowledge the committed messages that came on the current connection; how many."""
        gen, n = self.generation, 0
        ack = self.client.ack
        for m in batch:
            if m.qos and m.generation == gen:
                ack(m.mid, m.qos)
                n += 1
        return n

    def stop(self) -> None:
        """Disconnect (after the acks already queued are sent) and stop paho's thread."""
        self.client.disconnect()
        self.client.loop_stop()

