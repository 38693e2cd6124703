"""Topic → (kind, station, unit), per PROTOCOL.md (OwnTracks under a configurable prefix); good
topics repeat, so their answers are cached.

The cache holds only topics that parsed (anyone can send endless distinct bad ones) and is
bounded by the bytes of its keys: a flood of long topics costs at most CACHE_BYTES.
"""

from __future__ import annotations

from qingzhi.config import OWNTRACKS_PREFIX
from qingzhi.core.names import ID_RE

DEVICE_KINDS = frozenset(("gps", "cam", "status", "ack", "check"))
IGNORED = "ignored"   # centre → device topics (…/cmd) that a `{root}/#` subscription also brings
CACHE_BYTES = 8 * 1024 * 1024


class BadTopic(ValueError):
    """The topic breaks the contract; the message goes to rejects with this reason."""


class Topics:
    """Parses and caches topics under one root and the OwnTracks prefix."""

    def __init__(self, root: str, owntracks: str = OWNTRACKS_PREFIX):
        self.prefix = root + "/"
        self.owntracks = owntracks + "/"
        self._cache: dict[str, tuple[str, str, str]] = {}
        self._cached_bytes = 0

    def filters(self, share_group: str | None) -> list[str]:
        """The subscription filters (shared when a group is given)."""
        subs = [self.prefix + "#", self.owntracks + "+/+"]
        return [f"$share/{share_group}/{s}" for s in subs] if share_group else subs

    def parse(self, topic: str) -> tuple[str, str, str]:
        """(kind, station, unit); kind is 'owntracks' or IGNORED where that applies; BadTopic otherwise."""
        hit = self._cache.get(topic)
        if hit is None:
            hit = self._parse(topic)
            if self._cached_bytes + len(topic) > CACHE_BYTES:
                self._cache.clear()
                self._cached_bytes = 0
            self._cache[topic] = hit
            self._cached_bytes += len(topic)
        return hit

    def _parse(self, topic: str) -> tuple[str, str, str]:
        if topic.startswith(self.prefix):
            parts = topic[len(self.prefix):].split("/")
            if parts == ["incidents"]:
                return "incident", "", ""
            if len(parts) == 3 and parts[2] == "cmd":
                return IGNORED, "", ""
            if len(parts) == 3 and parts[2] in DEVICE_KINDS:
                station, unit, kind = parts
                _check_ids(station, unit)
                return kind, station, unit
            raise BadTopic(f"unknown topic under {self.prefix[:-1]}")
        if topic.startswith(self.owntracks):
            parts = topic[len(self.owntracks):].split("/")
            if len(parts) == 2:
                _check_ids(*parts)
                return "owntracks", parts[0], parts[1]
        raise BadTopic("unknown topic")


def _check_ids(station: str, unit: str) -> None:
    if not ID_RE.fullmatch(station):
        raise BadTopic(f"bad station id in topic: {station[:80]!r}")
    if not ID_RE.fullmatch(unit):
        raise BadTopic(f"bad unit id in topic: {unit[:80]!r}")
