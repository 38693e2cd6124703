"""The camera endpoints the player and the strips call (assets/js/60_camera_player.js, 62_camera_strips.js).

  GET  /api/live/cameras?station=S&incident=I -> the units whose cameras stream (no URLs: a URL is
                                                 handed out only by opening a view, which is audited)
  POST /api/live/stream/<unit>                 -> open a view: {unit, station, url, kind} (audited)
  GET  /api/live/stream/<unit>                 -> the same, as a redirect (an external player)
"""

from __future__ import annotations

import json
from typing import Any

from dash import get_relative_path
from flask import Response, redirect

from dashboard.auth.session_cookies import current_actor, visible_stations
from dashboard.cameras import queries
from dashboard.context import ctx
from dashboard.endpoints import json_blueprint, json_response, text_arg
from dashboard.i18n import t
from qingzhi.config import Settings
from qingzhi.core import streams
from qingzhi.core.vocab import UNIT_STATUSES

blueprint = json_blueprint("camera_api", "/api/live")
POLL_MS = 3000        # how often a strip asks which cameras stream
STALL_S = 6           # a picture frozen this long counts as "stream ended"
RETRY_MS = 3000       # an ended stream is looked at again this often
JS_TEXT_KEYS = ("camera.connecting", "camera.ended", "camera.no_picture", "camera.not_allowed", "camera.limit",
                "camera.none", "camera.failed", "camera.close")


def policy(settings: Settings) -> streams.StreamPolicy:
    """The stream allow-list and URL template of these settings."""
    return streams.StreamPolicy.parse(settings.stream_schemes, settings.stream_hosts, settings.stream_url_template)


def _no_stream(exc: streams.NoStream) -> Response:
    return json_response({"error": str(exc)}, 404)


blueprint.register_error_handler(streams.NoStream, _no_stream)   # before QingzhiError (503), its parent


@blueprint.get("/cameras")
def cameras() -> Response:
    """The units of the user's stations whose cameras stream and may be played, most relevant first."""
    app = ctx()
    rules = policy(app.settings)
    rows = app.db.run(queries.streaming_units, visible_stations(text_arg("station")), text_arg("incident"))
    out = [{"unit": r["id"], "station": r["station"], "kind": r["kind"], "status": r["status"], "sos": r["sos"],
            "live": r["live"], "since": r["since_ms"]}
           for r in rows if rules.url_for(r["id"], r["station"], r["stream_url"])]
    return json_response({"units": out})


@blueprint.post("/stream/<unit>")
def open_view(unit: str) -> Response:
    """Open a unit's live view in the page's player: checked, audited, then where to play it."""
    app = ctx()
    view = app.db.act(streams.open_view, current_actor("camera"), policy(app.settings), unit)
    return json_response(view)


@blueprint.get("/stream/<unit>")
def stream(unit: str) -> Response:
    """The same opening for an external player: audited, then the browser is sent to the stream."""
    app = ctx()
    view = app.db.act(streams.open_view, current_actor("live"), policy(app.settings), unit)
    return redirect(view["url"], 302)


def client_config(settings: Settings, *, lang: str) -> dict[str, Any]:
    """What the player and the strips need: endpoints, limits, the allow-list, timings and labels."""
    rules = policy(settings)
    return {
        "api": get_relative_path("/api/live"),
        "hls": get_relative_path("/assets/vendor/hls/hls.light.min.js"),
        "hls_worker": get_relative_path("/assets/vendor/hls/hls.worker.js"),
        "max": settings.camera_tiles,
        "schemes": list(rules.schemes),
        "hosts": list(rules.hosts),
        "poll_ms": POLL_MS,
        "stall_s": STALL_S,
        "retry_ms": RETRY_MS,
        "tz": settings.timezone,
        "status": {s: t(f"status.{s}", lang) for s in UNIT_STATUSES},
        "text": {k: t(k, lang) for k in JS_TEXT_KEYS},
    }


def config_json(settings: Settings, *, lang: str) -> str:
    """client_config as the JSON text the page carries."""
    return json.dumps(client_config(settings, lang=lang), ensure_ascii=False)
