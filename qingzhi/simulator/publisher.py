"""One MQTT connection for the whole simulated fleet: bounded QoS 1 publishing, command intake.

paho refuses more than 65,535 unacknowledged QoS 1 messages (MQTT_ERR_QUEUE_SIZE), and a
stalled broker would otherwise grow memory without bound, so publishing waits for a slot.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid

import paho.mqtt.client as mqtt

from qingzhi.config import Settings
from qingzhi.errors import QingzhiError
from qingzhi.mqtt import connect_blocking, make_client

log = logging.getLogger("qingzhi.simulator")
MAX_IN_FLIGHT = 2000
STALL_WARN_S = 30.0


class Publisher:
    """Publishes JSON with QoS 1 (at most MAX_IN_FLIGHT unacknowledged) and queues incoming commands.

    While the broker is away paho keeps what is unacknowledged and resends it after reconnecting;
    once MAX_IN_FLIGHT are waiting, publishing (and so the simulation) pauses until the broker is back.
    """

    def __init__(self, settings: Settings) -> None:
        self.root = settings.topic_root
        self.commands: queue.Queue[tuple[str, str, bytes]] = queue.Queue()
        self._slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self._lock = threading.Lock()
        self._in_flight = 0
        self.sent = 0
        client_id = f"{settings.client_id or 'qz-sim'}-{uuid.uuid4().hex[:6]}"
        self.client, self.target = make_client(settings, client_id=client_id, persistent=False)
        self.client.max_inflight_messages_set(100)
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.subscribed = threading.Event()
        self._settings = settings
        self.stopping = threading.Event()  # set by the owner to stop waiting for a stalled broker

    def start(self) -> None:
        """Connect (one-line QingzhiError if the broker is unreachable) and subscribe to commands."""
        connect_blocking(self.client, self.target, self._settings, persistent=False)  # on_connect subscribes
        if not self.subscribed.wait(10):
            self.client.loop_stop()
            raise QingzhiError(f"MQTT broker {self.target.display} did not confirm the command subscription")

    def _subscribe(self) -> None:
        self.client.subscribe(f"{self.root}/+/+/cmd", qos=1)

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if not getattr(reason, "is_failure", False):
            self._subscribe()  # again after a reconnect: the session is not persistent

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if getattr(reason, "is_failure", False) or str(reason) != "Normal disconnection":
            log.warning("broker %s disconnected (%s); paho reconnects and resends", self.target.display, reason)

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int, reason: object, props: object) -> None:
        # one on_publish per QoS 1 message, also for those paho queued while disconnected
        with self._lock:
            self._in_flight -= 1
        self._slots.release()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        parts = msg.topic.split("/")
        if len(parts) >= 3 and parts[-1] == "cmd":
            self.commands.put((parts[-3], parts[-2], msg.payload))

    def publish(self, topic: str, payload: object) -> None:
        """Publish JSON on {root}/topic with QoS 1; wait while MAX_IN_FLIGHT are unacknowledged."""
        waited, warn_at = 0.0, STALL_WARN_S
        while not self._slots.acquire(timeout=0.25):  # in slices, so that a stop request is not kept waiting
            if self.stopping.is_set():
                return  # shutting down while the broker is away: nothing more to send
            waited += 0.25
            if waited >= warn_at:  # a broker outage: wait for it (paho reconnects), say so now and then
                log.warning("MQTT broker %s has acknowledged nothing for %.0f s (%d messages waiting); still trying",
                            self.target.display, waited, self.in_flight())
                warn_at += STALL_WARN_S
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        with self._lock:
            self._in_flight += 1
        info = self.client.publish(f"{self.root}/{topic}", data, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            with self._lock:
                self._in_flight -= 1
            self._slots.release()
            raise QingzhiError(f"MQTT publish to {self.root}/{topic} failed: {mqtt.error_string(info.rc)}")
        self.sent += 1

    def in_flight(self) -> int:
        """QoS 1 messages not yet acknowledged by the broker."""
        with self._lock:
            return self._in_flight

    def close(self, drain_s: float = 5.0) -> None:
        """Wait up to drain_s for outstanding acknowledgements, then disconnect."""
        deadline = time.monotonic() + drain_s
        while self.in_flight() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.client.disconnect()
        self.client.loop_stop()
