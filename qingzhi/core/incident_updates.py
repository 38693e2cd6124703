"""What a second message about a known incident may change (PROTOCOL.md "incidents").

While the incident is open, an update may change the address, summary, priority and caller.
The time, place and type may change too, and every change goes into the incident's history
(the audit log); once a unit has been assigned, a change of time, place or type also raises
an `incident_changed` alert, since units may be on their way to the old place. A closed,
cancelled or merged incident is never rewritten, and the call-taking system may not rewrite
an incident it did not create (one entered by hand or imported): both are refused whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qingzhi.core.lifecycle import TERMINAL

FREE = ("address", "summary", "priority", "caller_hash")     # change freely while open
PINNED = ("ts", "lat", "lon", "type")                          # the call itself: where, when, what
DERIVED = ("category", "station")                              # follow type and place
ACTOR = "system:110"                                           # the call-taking system, in the audit log


@dataclass(frozen=True)
class Decision:
    """The outcome of one update: the columns to change, or why it is refused."""

    changes: dict[str, Any] = field(default_factory=dict)
    refused: str | None = None
    alert: bool = False             # time, place or type changed after a unit was assigned


def decide(current: Mapping[str, Any], update: Mapping[str, Any], source: str) -> Decision:
    """Compare an incident row with an update (same column names; None = not given) from `source`."""
    iid = current["id"]
    if current["state"] in TERMINAL:
        return Decision(refused=f"incident {iid} is {current['state']}: a finished incident is never rewritten")
    if current["source"] != source:
        return Decision(refused=f"incident {iid} was entered by {current['source']}, not {source}: not rewritten")
    changes = {}
    for col in FREE + PINNED + DERIVED:
        new = update.get(col)
        if new is not None and new != current[col]:
            changes[col] = new
    alert = current["assigned_at"] is not None and any(col in changes for col in PINNED)
    return Decision(changes=changes, alert=alert)


def history(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The audit details of a change: each field's old and new value (a caller only as 'changed')."""
    out: dict[str, Any] = {}
    for col, new in changes.items():
        if col == "caller_hash":
            out["caller"] = "changed"
        elif col == "ts":
            out[col] = [current[col].isoformat() if current[col] else None, new.isoformat()]
        else:
            out[col] = [current[col], new]
    return out
