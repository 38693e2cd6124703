"""Who acts: every domain action takes an Actor first and audits with it.

An actor is a person (a commander, by name), a device (`device:<unit>`) or the system itself
(the duty loop). Its `context` id is carried by every audit entry and command row one action
causes, so "who did this, and what else did it cause" is answered later (STYLE.md §5).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from qingzhi.errors import QingzhiError

ActorKind = Literal["person", "device", "system"]


@dataclass(frozen=True)
class Actor:
    """The acting person, device or system; `screen` is where a person acted (audit column)."""

    name: str
    kind: ActorKind = "person"
    screen: str | None = None
    context: uuid.UUID = field(default_factory=uuid.uuid4)
    role: str | None = None                      # a person's role (qingzhi.core.access.ROLES)
    stations: frozenset[str] | None = None       # a person limited to these stations; None: all

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise QingzhiError("an action needs the name of who acts")
        if self.kind not in ("person", "device", "system"):
            raise QingzhiError(f"unknown kind of actor {self.kind!r}")

    @property
    def label(self) -> str:
        """How the audit log names it: the person's name, `device:<unit>`, or `system`."""
        return {"person": self.name.strip(), "device": f"device:{self.name}", "system": "system"}[self.kind]

    @classmethod
    def person(cls, name: str, screen: str | None = None, *, role: str,
               stations: frozenset[str] | None = None) -> Actor:
        """A person acting from a screen (or the CLI) with their role and station scope, with a new context."""
        return cls(name, "person", screen, role=role, stations=stations)

    @classmethod
    def device(cls, unit: str) -> Actor:
        """A field device whose message causes a change."""
        return cls(unit, "device")

    @classmethod
    def system(cls, duty: str) -> Actor:
        """The duty loop (`duty` names the chore, kept as the screen)."""
        return cls("system", "system", duty)
