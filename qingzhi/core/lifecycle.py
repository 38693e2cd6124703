"""The incident lifecycle as one transition table, for commanders and devices alike.

received → assigned → en_route → on_scene → handled → feedback → closed, plus cancelled,
merged (a duplicate call) and diverted (a non-police matter handed to the agency that owns it). An incident never goes back; every step stamps its own time
column (merged stamps closed_at: merging closes the duplicate). Assignment is the only way
into `assigned`; feedback and review records the only ways into `feedback` and `closed`.
A device's status report may move the incident it is assigned to only into DEVICE_STEPS.
"""

from __future__ import annotations

from qingzhi.errors import QingzhiError

LIFECYCLE = ("received", "assigned", "en_route", "on_scene", "handled", "feedback", "closed")
TERMINAL = ("closed", "cancelled", "merged", "diverted")
OPEN = tuple(s for s in LIFECYCLE if s not in TERMINAL)
STATES = LIFECYCLE + ("cancelled", "merged", "diverted")
NEXT: dict[str, tuple[str, ...]] = {
    "received": ("assigned", "cancelled", "merged", "diverted"),
    "assigned": ("en_route", "on_scene", "handled", "cancelled", "merged", "diverted"),
    "en_route": ("on_scene", "handled", "cancelled", "merged", "diverted"),
    "on_scene": ("handled", "cancelled", "merged", "diverted"),
    "handled": ("feedback", "diverted"),
    "feedback": ("closed",),
    "closed": (),
    "cancelled": (),
    "merged": (),
    "diverted": (),
}
STAMP = {s: f"{s}_at" for s in LIFECYCLE[1:]} | {"cancelled": "cancelled_at", "merged": "closed_at",
                                                "diverted": "diverted_at"}
RELEASING = ("handled", "closed", "cancelled", "merged", "diverted")  # steps after which no unit stays assigned
COMMANDER_STEPS = ("en_route", "on_scene", "handled")  # what a commander sets directly; others have their own action
DEVICE_STEPS = ("en_route", "on_scene")  # what a unit's status report may move its incident to
REVIEW_STEP = {"feedback": "feedback", "review": "closed"}  # review record kind -> the state it moves to


class TransitionError(QingzhiError):
    """An incident cannot take this step from where it is."""


def sources(target: str) -> tuple[str, ...]:
    """Every state from which `target` may follow (the SQL of set-based moves uses this)."""
    return tuple(s for s, nxt in NEXT.items() if target in nxt)


def check_transition(incident: str, current: str, target: str) -> None:
    """Raise TransitionError with what is allowed unless `target` may follow `current`."""
    if target not in STAMP:
        raise TransitionError(f"unknown incident state {target!r}")
    allowed = NEXT.get(current, ())
    if target not in allowed:
        nxt = ", ".join(allowed) or "nothing (it is finished)"
        raise TransitionError(f"incident {incident} is {current}: it cannot go to {target}; next may be {nxt}")
