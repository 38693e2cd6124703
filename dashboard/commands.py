"""Commands to field devices: one long-lived MQTT publisher per dashboard process, and the
dispatch actions that publish (assign, release) as the pages call them.

The publisher connects on first use and paho's network thread reconnects it after a drop.
A command is published with QoS 1, not retained; `publish` waits for the broker's PUBACK.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt

from dashboard.data import dispatch as data
from qingzhi.config import Settings
from qingzhi.errors import QingzhiError
from qingzhi.mqtt import connect_blocking, make_client

CONFIRM_TIMEOUT_S = 5.0
_publisher_lock = threading.Lock()


class Publisher:
    """A paho client that publishes commands and reports whether the broker confirmed each one."""

    def __init__(self, settings: Settings, *, confirm_timeout: float = CONFIRM_TIMEOUT_S) -> None:
        self.settings = settings
        self.confirm_timeout = confirm_timeout
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()

    def _connected(self) -> mqtt.Client:
        with self._lock:
            if self._client is None:
                base = self.settings.client_id or "qz-dashboard"
                client, target = make_client(
                    self.settings, client_id=f"{base}-cmd-{os.getpid()}-{uuid.uuid4().hex[:6]}", persistent=False
                )
                client.reconnect_delay_set(min_delay=1, max_delay=30)
                connect_blocking(client, target, self.settings, persistent=False)
                self._client = client
            return self._client

    def publish(self, topic: str, payload: bytes) -> bool:
        """Publish QoS 1 and wait for the PUBACK: True confirmed, False not within the timeout
        (paho keeps it and sends it after a reconnect). Raises QingzhiError if the broker is
        not connected, so that nothing at all is sent."""
        client = self._connected()
        if not client.is_connected():
            raise QingzhiError("MQTT broker connection is down: the command was not sent")
        info = client.publish(topic, payload, qos=1, retain=False)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise QingzhiError(f"MQTT publish failed: {mqtt.error_string(info.rc)}")
        try:
            info.wait_for_publish(self.confirm_timeout)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    async def apublish(self, topic: str, payload: bytes) -> bool:
        """publish() without blocking the event loop it is awaited on."""
        return await asyncio.to_thread(self.publish, topic, payload)

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        with self._lock:
            if self._client is not None:
                self._client.disconnect()
                self._client.loop_stop()
                self._client = None


def publisher_of(app: Any) -> Publisher:
    """The app context's publisher, made on first use (it connects on its first command)."""
    if app.publisher is None:
        if not app.settings.mqtt_url:
            raise QingzhiError("no MQTT broker configured (QZ_MQTT_URL): commands cannot be sent")
        with _publisher_lock:
            if app.publisher is None:
                app.publisher = Publisher(app.settings)
    return app.publisher


def assign(app: Any, incident: str, unit: str, *, screen: str = "dispatch", note: str | None = None) -> data.Command:
    """Send `unit` to `incident` as this dashboard's operator (see data.dispatch.assign)."""
    pub = publisher_of(app)
    return app.db.run(
        data.assign, incident, unit, by=app.settings.operator, screen=screen,
        topic_root=app.settings.topic_root, publish=pub.apublish, note=note,
    )


def release(app: Any, incident: str, unit: str, *, screen: str = "dispatch", reason: str = "released") -> data.Command:
    """Take `unit` off `incident` and tell its device (see data.dispatch.release)."""
    pub = publisher_of(app)
    return app.db.run(
        data.release, incident, unit, by=app.settings.operator, screen=screen,
        topic_root=app.settings.topic_root, publish=pub.apublish, reason=reason,
    )
