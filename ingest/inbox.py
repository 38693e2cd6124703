"""The bounded hand-over from paho's network thread to the writer.

A full inbox is back-pressure: `put` blocks paho's thread, which then reads no more from the
socket, and nothing more is acknowledged, so the broker keeps the rest. It never drops.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any


class Inbox:
    """A bounded FIFO with batch takes; `close()` refuses new items and wakes everyone."""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._items: deque[Any] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.blocked_s = 0.0   # time producers spent waiting on a full inbox (back-pressure)

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Any) -> bool:
        """Append, waiting while full; False once closed (the item was not taken)."""
        with self._cond:
            if len(self._items) >= self.maxsize and not self._closed:
                started = time.monotonic()
                while len(self._items) >= self.maxsize and not self._closed:
                    self._cond.wait(0.5)
                self.blocked_s += time.monotonic() - started
            if self._closed:
                return False
            self._items.append(item)
            if len(self._items) == 1:
                self._cond.notify_all()
            return True

    def close(self) -> None:
        """Take nothing more; what is inside can still be taken."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def take(self, max_items: int, max_wait_s: float, idle_s: float) -> list[Any]:
        """Up to max_items: wait up to max_wait_s for the first, then collect until max_items,
        max_wait_s after the first, or no new item for idle_s (the sender has paused: with
        acks held until commit, the broker's in-flight window may be what it waits on)."""
        out: list[Any] = []
        with self._cond:
            deadline = time.monotonic() + max_wait_s
            while not self._items and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return out
                self._cond.wait(left)
            deadline = time.monotonic() + max_wait_s
            while True:
                items = self._items
                n = min(len(items), max_items - len(out))
                out.extend(items.popleft() for _ in range(n))
                if n:
                    self._cond.notify_all()   # room again for a blocked producer
                if len(out) >= max_items or self._closed:
                    return out
                left = deadline - time.monotonic()
                if left <= 0:
                    return out
                before = len(items)
                self._cond.wait(min(left, idle_s))
                if len(items) == before == 0:
                    return out
