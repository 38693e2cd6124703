"""Who may do what, and where: roles, permissions and station scope, checked in the core.

Every domain action calls `require()` with its actor before it changes anything, and every read
that serves a person narrows itself with `scope()`: the web pages, the JSON endpoints and the
CLI all meet the same check (STYLE.md §5, guideline 16). Devices and the system act within the
rules of the message or chore that caused them and are not limited by roles.
"""

from __future__ import annotations

from collections.abc import Iterable

from qingzhi.core.actor import Actor
from qingzhi.errors import QingzhiError

ROLES = ("wall", "analyst", "commander", "admin")
ALL = frozenset(ROLES)
# permission -> roles holding it; admin holds every permission
PERMISSIONS: dict[str, frozenset[str]] = {
    "live.view": ALL,                                        # the live map, the wall, units and alerts
    "camera.view": ALL,                                      # body cameras' live views (each one audited)
    "analysis.view": frozenset(("analyst", "commander", "admin")),
    "analysis.export": frozenset(("analyst", "commander", "admin")),
    "dispatch.view": frozenset(("commander", "admin")),
    "dispatch.act": frozenset(("commander", "admin")),        # assign, release, steps, incidents, follow-ups
    "followup.act": frozenset(("commander", "admin")),     # repeat-call tasks: make, assign, record each step
    "grids.load": frozenset(("commander", "admin")),       # a station's community grids and their officers
    "search.view": frozenset(("analyst", "commander", "admin")),  # incident search and full trace
    "alert.ack": frozenset(("commander", "admin")),
    "briefing.view": frozenset(("analyst", "commander", "admin")),  # the review page, its exports, playback
    "briefing.act": frozenset(("commander", "admin")),              # meeting tasks (督办): create, complete
    "duty.view": frozenset(("analyst", "commander", "admin")),  # levels, the redeployment plan, presence
    "duty.act": frozenset(("commander", "admin")),            # set levels, apply plans, decide suggestions
    "settings.change": frozenset(("admin",)),
    "users.manage": frozenset(("admin",)),
    "audit.view": frozenset(("admin",)),
}


class Unauthorized(QingzhiError):
    """The actor may not do this (or not at this station)."""


def _check_permission(permission: str) -> frozenset[str]:
    roles = PERMISSIONS.get(permission)
    if roles is None:
        raise ValueError(f"unknown permission {permission!r}")
    return roles


def allowed(actor: Actor, permission: str, stations: Iterable[str | None] = ()) -> bool:
    """Whether the actor holds the permission, for every station named (None: no station)."""
    roles = _check_permission(permission)
    if actor.kind != "person":
        return True
    if actor.role not in roles:
        return False
    if actor.stations is None:
        return True
    return all(s is not None and s in actor.stations for s in stations)


def require(actor: Actor, permission: str, *stations: str | None) -> None:
    """Raise Unauthorized unless allowed(); the message names what was refused, not more."""
    if not allowed(actor, permission, stations):
        where = f" at station {', '.join(sorted(str(s) for s in stations))}" if stations else ""
        raise Unauthorized(f"{actor.label} ({actor.role or 'no role'}) may not {permission}{where}")


def scope(actor: Actor) -> list[str] | None:
    """The stations whose data the actor may see: None for all."""
    if actor.kind != "person" or actor.stations is None:
        return None
    return sorted(actor.stations)
