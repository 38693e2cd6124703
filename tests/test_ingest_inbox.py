"""The inbox between paho's thread and the writer: back-pressure, batching, close."""

from __future__ import annotations

import threading
import time

from ingest.inbox import Inbox


def test_full_inbox_blocks_the_producer_until_taken() -> None:
    inbox = Inbox(maxsize=3)
    for i in range(3):
        assert inbox.put(i)
    done = threading.Event()
    threading.Thread(target=lambda: (inbox.put(3), done.set()), daemon=True).start()
    assert not done.wait(0.3)             # blocked: nothing dropped, nothing read
    assert inbox.take(2, 1.0, 0.01) == [0, 1]
    assert done.wait(2)
    assert inbox.take(10, 0.2, 0.01) == [2, 3] and inbox.blocked_s > 0.2


def test_take_returns_early_when_input_pauses() -> None:
    inbox = Inbox(maxsize=100)
    inbox.put("a")
    started = time.monotonic()
    assert inbox.take(50, 5.0, 0.02) == ["a"]
    assert time.monotonic() - started < 1.0


def test_take_waits_for_the_first_item_then_times_out_empty() -> None:
    inbox = Inbox(maxsize=10)
    started = time.monotonic()
    assert inbox.take(5, 0.2, 0.01) == []
    assert time.monotonic() - started >= 0.19


def test_close_refuses_new_items_and_releases_blocked_producers() -> None:
    inbox = Inbox(maxsize=1)
    inbox.put("kept")
    result = []
    t = threading.Thread(target=lambda: result.append(inbox.put("late")))
    t.start()
    time.sleep(0.1)
    inbox.close()
    t.join(2)
    assert result == [False] and not inbox.put("later")
    assert inbox.take(10, 0.1, 0.01) == ["kept"] and inbox.take(10, 0.1, 0.01) == []

