"""Counters of one ingest process, turned into the figures of the log line and `qingzhi status`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    """Totals since start; `snapshot()` turns them into rates since the previous snapshot."""

    messages: int = 0
    rows: int = 0
    rejects: int = 0
    batches: int = 0
    newest_fix_ms: int = 0
    db: str = "connecting"
    broker: str = "connecting"
    backlog: int = 0
    backpressure_s: float = 0.0   # time paho's thread waited on a full inbox, in total
    _last: tuple[float, int, int] = field(default_factory=lambda: (time.monotonic(), 0, 0))

    def record_batch(self, messages: int, rows: int, rejects: int, newest_fix_ms: int) -> None:
        """Count one committed batch."""
        self.messages += messages
        self.rows += rows
        self.rejects += rejects
        self.batches += 1
        if newest_fix_ms > self.newest_fix_ms:
            self.newest_fix_ms = newest_fix_ms

    def snapshot(self) -> dict[str, Any]:
        """The figures now, with msgs/s and mean batch size over the interval since the last call."""
        now = time.monotonic()
        then, msgs_then, batches_then = self._last
        self._last = (now, self.messages, self.batches)
        span, batches = max(now - then, 1e-9), self.batches - batches_then
        lag = None if not self.newest_fix_ms else round(time.time() - self.newest_fix_ms / 1000, 1)
        return {
            "msgs_per_s": round((self.messages - msgs_then) / span, 1),
            "avg_batch": round((self.messages - msgs_then) / batches, 1) if batches else 0,
            "messages": self.messages, "rows": self.rows, "rejects": self.rejects, "batches": self.batches,
            "lag_s": lag, "backlog": self.backlog, "backpressure_s": round(self.backpressure_s, 1),
            "db": self.db, "broker": self.broker,
        }


def log_line(s: dict[str, Any]) -> str:
    """The periodic log line."""
    lag = "-" if s["lag_s"] is None else f"{s['lag_s']}s"
    return (f"{s['msgs_per_s']} msg/s, avg batch {s['avg_batch']}, {s['messages']} msgs, {s['rows']} rows, "
            f"{s['rejects']} rejects, lag {lag}, backlog {s['backlog']} (back-pressure {s['backpressure_s']}s), "
            f"db {s['db']}, broker {s['broker']}")
