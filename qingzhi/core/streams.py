"""Body-camera live views: which stream URLs may be played, how a unit maps to its stream, and the
one action that opens a view (checked and audited: who watched which officer, when).

The video itself never passes through us: the agency's media gateway (MediaMTX or the like) turns
the cameras' GB/T 28181 or RTSP into HLS or WebRTC (WHEP), and the browser plays that. What we
decide is whether a URL is played at all (scheme and host on the allow-list: a device may send
anything) and who may open it. The browser's player checks the same list again
(assets/js/60_camera_player.js), so a URL the server would refuse is never played either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import asyncpg

from qingzhi.core import audit
from qingzhi.core.access import require
from qingzhi.core.actor import Actor
from qingzhi.core.safe_output import LINK_SCHEMES, safe_link
from qingzhi.errors import QingzhiError

PERMISSION = "camera.view"
AUDIT_ACTION = "stream.view"
TEMPLATE_FIELDS = ("unit", "station")


class NoStream(QingzhiError):
    """The unit is unknown, or has no stream a browser may play."""


@dataclass(frozen=True)
class StreamPolicy:
    """What may be played: schemes (a subset of http/https), hosts (empty: any) and the URL template
    that names a unit's stream when its camera sends none (empty: none)."""

    schemes: tuple[str, ...] = LINK_SCHEMES
    hosts: tuple[str, ...] = ()
    template: str = ""

    @classmethod
    def parse(cls, schemes: str, hosts: str, template: str = "") -> StreamPolicy:
        """From the comma-separated settings (QZ_STREAM_SCHEMES, QZ_STREAM_HOSTS, QZ_STREAM_URL_TEMPLATE)."""
        return cls(schemes=split_list(schemes) or LINK_SCHEMES, hosts=split_list(hosts), template=template.strip())

    def allowed(self, url: str | None) -> str | None:
        """The URL if a browser may play it here (scheme and host on the lists), else None."""
        link = safe_link(url, self.hosts)
        if link is None or urlsplit(link).scheme.lower() not in self.schemes:
            return None
        return link

    def url_for(self, unit: str, station: str | None, sent: str | None) -> str | None:
        """The playable stream of a unit: the URL its camera sent, else the template's; None if neither is allowed."""
        if sent:
            return self.allowed(sent)
        if not self.template:
            return None
        return self.allowed(self.template.format(unit=quote(unit, safe=""), station=quote(station or "", safe="")))


def split_list(value: str) -> tuple[str, ...]:
    """`a, B ,,c` -> ('a', 'b', 'c'): a comma-separated setting, lower case."""
    return tuple(p.strip().lower() for p in value.split(",") if p.strip())


def check_template(template: str) -> str:
    """A URL template is http(s) with `{unit}` and optionally `{station}` and nothing else in braces."""
    template = template.strip()
    if not template:
        return template
    try:
        sample = template.format(unit="U1", station="S1")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"stream URL template may use only {{unit}} and {{station}}: {exc}") from None
    if "{unit}" not in template:
        raise ValueError("stream URL template must contain {unit}")
    if safe_link(sample) is None:
        raise ValueError("stream URL template must be an http(s) URL with a host")
    return template


def kind_of(url: str) -> str:
    """How the browser plays a URL: `whep` (WebRTC, a MediaMTX-style `…/whep` endpoint) or `hls`."""
    return "whep" if urlsplit(url).path.rstrip("/").lower().endswith("/whep") else "hls"


async def open_view(actor: Actor, conn: asyncpg.Connection, policy: StreamPolicy, unit: str) -> dict[str, Any]:
    """Open a unit's live view for the actor: scope checked, the view audited, then where to play it.

    Returns {unit, station, url, kind}. Raises NoStream for an unknown unit or one without a playable
    stream (nothing audited: nothing was shown), Unauthorized for another station's unit."""
    row = None if len(unit) > 64 else await conn.fetchrow(
        "SELECT id, station, stream_url, cam_state FROM units WHERE id = $1", unit)
    if row is None:
        raise NoStream("no such unit")
    require(actor, PERMISSION, row["station"])
    url = policy.url_for(row["id"], row["station"], row["stream_url"])
    if url is None:
        raise NoStream("no stream for this unit")
    view = {"unit": row["id"], "station": row["station"], "url": url, "kind": kind_of(url)}
    await audit.record(conn, actor, AUDIT_ACTION, unit=row["id"],
                       details={"url": url, "kind": view["kind"], "station": row["station"],
                                "camera": row["cam_state"]})
    return view
