"""A TCP proxy for fault tests: put it between a service and its database or broker, then freeze
it (silence: sockets stay open, nothing is forwarded, no error anywhere) or cut it (every
connection dropped, new ones refused) and bring it back, or lose the answer to one PostgreSQL
COMMIT (the commit happens; the client's connection drops before it hears so). Listens on
127.0.0.1 only.

It runs an asyncio loop in a thread of its own, so tests drive it with plain calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from urllib.parse import urlsplit

from qingzhi.embedded import free_port

CHUNK = 65536
COMMIT = b"Q\x00\x00\x00\x0cCOMMIT;\x00"   # PostgreSQL's simple-query message, as asyncpg sends it


class TcpProxy:
    """127.0.0.1:`port` → `target_host`:`target_port`; counts the bytes it forwards each way."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.bytes_up = 0       # client → target
        self.bytes_down = 0     # target → client
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._links: set[asyncio.Task] = set()
        self._lose_commit = False   # armed: the next COMMIT goes through, its answer is dropped
        self._losing = False        # that COMMIT went through: drop the link at its answer

    @classmethod
    def before(cls, url: str) -> "TcpProxy":
        """A proxy (not yet started) in front of the host:port of this URL."""
        parts = urlsplit(url)
        return cls(parts.port, parts.hostname or "127.0.0.1")

    def url(self, url: str) -> str:
        """`url` with its host:port replaced by this proxy's (credentials, path and query kept)."""
        parts = urlsplit(url)
        auth = parts.netloc.rpartition("@")[0]
        return parts._replace(netloc=f"{auth}@127.0.0.1:{self.port}" if auth else f"127.0.0.1:{self.port}").geturl()

    def _call(self, coro: object, timeout: float = 10.0) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)  # type: ignore[arg-type]

    def start(self) -> "TcpProxy":
        """Listen and forward."""
        self._thread.start()

        async def boot() -> None:
            self._flowing = asyncio.Event()
            self._flowing.set()
            await self._listen()

        self._call(boot())
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._links.add(task)
        target_w = None
        try:
            await self._flowing.wait()          # a frozen proxy accepts, then says nothing
            target_r, target_w = await asyncio.open_connection(*self.target)
            await asyncio.gather(self._pump(client_r, target_w, up=True), self._pump(target_r, client_w, up=False),
                                 return_exceptions=True)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._links.discard(task)
            for w in (client_w, target_w):
                if w is not None:
                    w.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, up: bool) -> None:
        while True:
            await self._flowing.wait()          # frozen: stop reading; TCP flow control does the rest
            data = await reader.read(CHUNK)
            if not data:
                break
            await self._flowing.wait()          # what arrived just as the freeze began is held too
            if not up and self._losing:         # the server's answer to the COMMIT: never delivered
                self._losing = False
                break
            if up and self._lose_commit and COMMIT in data:
                self._lose_commit, self._losing = False, True
            writer.write(data)
            await writer.drain()
            if up:
                self.bytes_up += len(data)
            else:
                self.bytes_down += len(data)
        writer.transport.abort()                # one side closed: close the other (no half-open links)

    def freeze(self) -> None:
        """Stop forwarding both ways; every socket stays open, new connections are accepted and ignored."""
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def resume(self) -> None:
        """Forward again, including whatever was held."""
        self._loop.call_soon_threadsafe(self._flowing.set)

    def lose_next_commit_answer(self) -> None:
        """Forward the next COMMIT to the server, then drop that connection instead of its answer."""
        self._loop.call_soon_threadsafe(setattr, self, "_lose_commit", True)

    def cut(self) -> None:
        """A network cut: drop every connection and refuse new ones (nothing listens on the port)."""

        async def go() -> None:
            self._server.close()
            for task in list(self._links):
                task.cancel()
            await asyncio.gather(*self._links, return_exceptions=True)
            await self._server.wait_closed()

        self._call(go())

    def restore(self) -> None:
        """Listen again on the same port after a cut."""
        self._call(self._listen())

    def stop(self) -> None:
        """Close everything and end the thread."""
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self.resume()
            self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
