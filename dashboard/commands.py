"""Commands to field devices: one long-lived MQTT publisher per dashboard process, and the
core's dispatch actions that publish (assign, release) run with it, as the pages call them.

The publisher connects on first use and paho's network thread reconnects it after a drop.
A command is published with QoS 1, not retained; `apublish` waits for the broker's PUBACK.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
import time
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt

from qingzhi.config import Settings
from qingzhi.core import dispatch, followups, redeploy
from qingzhi.core.actor import Actor
from qingzhi.core.response_plan import load_plan
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
        self._refused: dict[int, object] = {}  # mid → the reason an MQTT v5 broker gave for refusing it

    def ensure_connected(self) -> None:
        """Connect on first use, and again if paho's network thread has died (it reconnects
        by itself after a dropped connection, but a dead thread never comes back)."""
        with self._lock:
            thread = getattr(self._client, "_thread", None)
            if self._client is not None and thread is not None and not thread.is_alive():
                self._client = None
            if self._client is None:
                base = self.settings.client_id or "qz-dashboard"
                client, target = make_client(
                    self.settings, client_id=f"{base}-cmd-{os.getpid()}-{uuid.uuid4().hex[:6]}", persistent=False
                )
                client.reconnect_delay_set(min_delay=1, max_delay=30)
                client.on_publish = self._on_publish
                connect_blocking(client, target, self.settings, persistent=False)
                self._client = client

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int, reason: object, props: object) -> None:
        # Runs before paho marks the message published. A closed broker acknowledges a publish its
        # ACL denies, and drops it: only MQTT v5's reason code tells.
        if getattr(reason, "is_failure", False):
            self._refused[mid] = reason

    async def apublish(self, topic: str, payload: bytes) -> bool:
        """Publish QoS 1 and wait for the PUBACK without blocking the event loop: True confirmed,
        False not within the timeout (paho keeps it and sends it after a reconnect). Raises
        QingzhiError if the broker is not connected, so that nothing at all is sent, or if it
        refused the command (an ACL that does not let this account command the device)."""
        client = self._client
        if client is None or not client.is_connected():
            raise QingzhiError("MQTT broker connection is down: the command was not sent")
        info = client.publish(topic, payload, qos=1, retain=False)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise QingzhiError(f"MQTT publish failed: {mqtt.error_string(info.rc)}")
        # poll the PUBACK flag (set by paho's thread): no callback races, no worker threads
        deadline, pause = time.monotonic() + self.confirm_timeout, 0.0005
        while not info.is_published():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.02)
        refused = self._refused.pop(info.mid, None)
        if refused is not None:
            raise QingzhiError(f"the MQTT broker refused the command on {topic}: {refused} "
                               "(check the dashboard's broker account and the ACL)")
        return True

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


def assign(app: Any, actor: Actor, incident: str, unit: str, *, note: str | None = None) -> dispatch.Command:
    """Send `unit` to `incident` as `actor` (qingzhi.core.dispatch.assign checks who may)."""
    pub = publisher_of(app)
    pub.ensure_connected()
    return app.db.act(dispatch.assign, actor, incident, unit, topic_root=app.settings.topic_root,
                      publish=pub.apublish, note=note)


def release(app: Any, actor: Actor, incident: str, unit: str, *, reason: str = "released") -> dispatch.Command:
    """Take `unit` off `incident` as `actor` and tell its device (qingzhi.core.dispatch.release)."""
    pub = publisher_of(app)
    pub.ensure_connected()
    return app.db.act(dispatch.release, actor, incident, unit, topic_root=app.settings.topic_root,
                      publish=pub.apublish, reason=reason)


def assign_task(app: Any, actor: Actor, task: int, **fields: Any) -> str | None:
    """交办 a follow-up task as `actor` (qingzhi.core.followups.assign_followup); the broker is reached
    only if a slip goes to a device. Returns the slip's command id, if one was sent."""

    async def publish(topic: str, payload: bytes) -> bool:
        pub = publisher_of(app)
        pub.ensure_connected()
        return await pub.apublish(topic, payload)

    return app.db.act(followups.assign_followup, actor, task, topic_root=app.settings.topic_root,
                      publish=publish, **fields)


def apply_moves(app: Any, actor: Actor, moves: list[tuple[str, ...]]) -> list[dict[str, Any]]:
    """Send the ticked moves of a redeployment plan, (unit, zone) or (unit, zone, hotspot cell), as `patrol`
    commands (qingzhi.core.redeploy.apply_moves checks each against the rules and who may)."""
    pub = publisher_of(app)
    pub.ensure_connected()
    return app.db.act(redeploy.apply_moves, actor, moves, response=load_plan(app.settings.response_plan),
                      topic_root=app.settings.topic_root, publish=pub.apublish,
                      today=dt.datetime.now(ZoneInfo(app.settings.timezone)).date())


def recall_units(app: Any, actor: Actor, units: list[str]) -> list[dict[str, Any]]:
    """Send `recall` to each unit (qingzhi.core.redeploy.recall_units checks who may)."""
    pub = publisher_of(app)
    pub.ensure_connected()
    return app.db.act(redeploy.recall_units, actor, units, topic_root=app.settings.topic_root, publish=pub.apublish)
