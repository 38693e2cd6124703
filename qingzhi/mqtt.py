"""paho-mqtt clients built from settings, with one-line errors for the usual failures."""

from __future__ import annotations

import os
import socket
import ssl
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

from qingzhi.config import MqttTarget, Settings, parse_mqtt_url
from qingzhi.errors import QingzhiError

SESSION_EXPIRY_S = 7 * 24 * 3600  # keep a persistent session (and its queue) for a week offline


def make_client(
    settings: Settings, *, client_id: str, persistent: bool, manual_ack: bool = False
) -> tuple[mqtt.Client, MqttTarget]:
    """A paho client for settings.mqtt_url; `persistent` keeps the session (and queued QoS 1) across restarts."""
    if not settings.mqtt_url:
        raise QingzhiError("no mqtt_url: set QZ_MQTT_URL or pass --mqtt-url")
    target = parse_mqtt_url(settings.mqtt_url)
    v5 = settings.mqtt_protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        clean_session=None if v5 else not persistent,
        manual_ack=manual_ack,
    )
    if target.username:
        client.username_pw_set(target.username, target.password)
    if target.tls:
        _use_tls(client, settings, target)
    elif settings.mqtt_ca or settings.mqtt_cert:
        raise QingzhiError(f"QZ_MQTT_CA / QZ_MQTT_CERT are set but {target.display} is plain MQTT: "
                           "use an mqtts:// URL (or unset them)")
    return client, target


def _use_tls(client: mqtt.Client, settings: Settings, target: MqttTarget) -> None:
    """TLS that verifies the broker (against QZ_MQTT_CA, else the system's CAs) and presents the
    client certificate where one is configured."""
    for name in ("mqtt_ca", "mqtt_cert", "mqtt_key"):
        path = getattr(settings, name)
        if path and not os.access(path, os.R_OK):
            raise QingzhiError(f"cannot read {name} file {path!r} (QZ_{name.upper()})")
    try:
        client.tls_set(ca_certs=settings.mqtt_ca, certfile=settings.mqtt_cert, keyfile=settings.mqtt_key,
                       cert_reqs=ssl.CERT_REQUIRED)
    except (ssl.SSLError, ValueError, OSError) as exc:
        raise QingzhiError(f"bad TLS files for {target.display} (QZ_MQTT_CA / QZ_MQTT_CERT / QZ_MQTT_KEY): "
                           f"{exc}") from None


def connect_properties(settings: Settings, *, persistent: bool, receive_maximum: int | None = None) -> Properties | None:
    """MQTT v5 CONNECT properties: a session expiry, without which clean_start=False keeps nothing.

    `receive_maximum` (1–65535) is how many unacknowledged QoS 1/2 messages the broker may send
    at once; Mosquitto otherwise uses its max_inflight_messages (default 20).
    """
    if settings.mqtt_protocol != "5":
        return None
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = SESSION_EXPIRY_S if persistent else 0
    if receive_maximum is not None:
        props.ReceiveMaximum = receive_maximum
    return props


def connect_blocking(
    client: mqtt.Client, target: MqttTarget, settings: Settings, *, persistent: bool, timeout: float = 10.0,
    receive_maximum: int | None = None,
) -> None:
    """Connect and wait for CONNACK; raise QingzhiError if the broker is unreachable or says no.

    It starts paho's network thread (loop_start); the caller stops it. It uses temporary
    on_connect / on_disconnect / on_log hooks and restores the caller's afterwards. A connection
    closed before the CONNACK (a TLS broker that wants a client certificate refuses it only after
    the handshake) fails at once, with the error paho logged.
    """
    answered = threading.Event()
    result: dict[str, object] = {}
    previous = client.on_connect, client.on_disconnect, client.on_log

    def on_connect(c: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        result["reason"] = reason
        answered.set()
        if previous[0]:
            previous[0](c, userdata, flags, reason, props)

    def on_disconnect(c: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        result.setdefault("closed", reason)
        answered.set()
        if previous[1]:
            previous[1](c, userdata, flags, reason, props)

    def on_log(c: mqtt.Client, userdata: object, level: int, text: str) -> None:
        if level == mqtt.MQTT_LOG_ERR:
            result.setdefault("error", text)  # the first: what went wrong, not its consequences
        if previous[2]:
            previous[2](c, userdata, level, text)

    client.on_connect, client.on_disconnect, client.on_log = on_connect, on_disconnect, on_log
    v5 = settings.mqtt_protocol == "5"
    try:
        try:
            client.connect(
                target.host,
                target.port,
                keepalive=30,
                clean_start=(not persistent) if v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                properties=connect_properties(settings, persistent=persistent, receive_maximum=receive_maximum),
            )
        except (OSError, socket.gaierror, ssl.SSLError) as exc:
            raise QingzhiError(f"cannot reach MQTT broker {target.display}: {exc.strerror or exc}") from None
        client.loop_start()
        try:
            if not answered.wait(timeout):
                raise QingzhiError(f"MQTT broker {target.display} did not answer within {timeout:.0f} s")
            reason = result.get("reason")
            if reason is None:
                hint = " (does it require a client certificate? QZ_MQTT_CERT, QZ_MQTT_KEY)" if (
                    target.tls and not settings.mqtt_cert) else ""
                raise QingzhiError(f"MQTT broker {target.display} closed the connection before accepting it: "
                                   f"{result.get('error') or result['closed']}{hint}")
            if getattr(reason, "is_failure", False):
                raise QingzhiError(f"MQTT broker {target.display} refused the connection: {reason}")
        except QingzhiError:
            client.loop_stop()
            raise
    finally:
        client.on_connect, client.on_disconnect, client.on_log = previous
