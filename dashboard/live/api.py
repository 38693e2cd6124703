"""JSON endpoints the live map's JS polls, and the configuration handed to that JS.

Why plain endpoints instead of a dcc.Interval callback: the wall screen runs for days, and
dash-renderer records every Interval tick in its undo history (an array that only grows and
is copied on every tick). A fetch loop in assets/js/30_live_stream.js has no such cost, can
time out, back off and report "connection lost", and measures its own latency. The dispatch
page does the same (dashboard/dispatch/api.py).

  GET /api/live/units?since=V&station=S  -> units changed after version V (PostgreSQL-built JSON)
  GET /api/live/panel?station=S&lang=L&ack=1&atok=A&otok=O
                                          -> alert feed (as Dash components) and map overlays,
                                             each only when its token differs from the client's
"""

from __future__ import annotations

import json
import time
from typing import Any

from dash import get_relative_path
from flask import Response, request
from plotly.io.json import to_json_plotly

from dashboard import ids
from dashboard.auth.session_cookies import visible_stations
from dashboard.context import ctx
from dashboard.live import queries as data
from dashboard.endpoints import int_arg, json_blueprint, json_response, text_arg
from dashboard.i18n import lang_of, t, type_label
from dashboard.live.components import build_alert_feed
from dashboard.maps import for_tiles, rows_for_tiles
from qingzhi.config import Settings
from qingzhi.core.vocab import CAM_STATES, PRIORITIES, UNIT_KINDS, UNIT_STATUSES, UNKNOWN_KIND

blueprint = json_blueprint("live_api", "/api/live")
POLL_MS = 1000       # units: one request at a time, at most this often
PANEL_MS = 3000      # alerts and overlays
RESYNC_S = 60        # a full snapshot this often: bounds any missed update and drops deleted units
TIMEOUT_MS = 8000    # a request slower than this counts as a failure (connection banner)
JS_TEXT_KEYS = ("live.unit.min", "live.unit.hour", "live.unit.sec", "common.connection_lost", "live.found",
                "live.not_found", "live.hidden", "live.no_position")


@blueprint.get("/units")
def units() -> Response:
    """Units changed since the client's version; `full` snapshots replace the client's set."""
    t0 = time.perf_counter()
    app = ctx()
    got = app.db.run(data.units_since, int_arg("since", 0), visible_stations(text_arg("station")))
    rows = rows_for_tiles(got["rows"], data.UNIT_FIELDS.index("lat"), data.UNIT_FIELDS.index("lon"), app.settings)
    ms = round((time.perf_counter() - t0) * 1000, 2)  # server time of this update (bench/live_map.py)
    head = json.dumps({"v": got["v"], "full": got["full"], "now": got["now"], "ms": ms})
    return json_response(f'{head[:-1]}, "rows": {rows}}}')


@blueprint.get("/panel")
def panel() -> Response:
    """The alert feed and the overlay layers, each sent only when changed."""
    app = ctx()
    station = visible_stations(text_arg("station"))
    lang = lang_of(request.args.get("lang"), app.settings.language)
    out: dict[str, Any] = {}

    atok = app.db.run(data.alerts_token, station)
    if atok != request.args.get("atok"):
        feed = app.db.run(data.alert_feed, station)
        out["atok"] = atok
        out["open"] = feed["open"]
        out["open_text"] = t("live.alerts_open", lang).format(n=feed["open"]) if feed["open"] else ""
        out["alerts"] = build_alert_feed(feed=feed, lang=lang, tz=app.settings.timezone,
                                         ackable=request.args.get("ack") == "1")
        out["sos"] = [a["id"] for a in feed["items"] if a["kind"] == "sos" and a["acked_at"] is None]

    otok = f"{app.db.run(data.overlays_token, station)}-{lang}"
    if otok != request.args.get("otok"):
        layers = app.db.run(data.overlays, station)
        for name in ("jurisdictions", "zones"):
            for f in layers[name]["features"]:
                f["properties"]["name"] = f["properties"][f"name_{lang}"]
        for f in layers["incidents"]["features"]:
            f["properties"]["type_name"] = type_label(f["properties"]["type"], lang)
        for name in ("jurisdictions", "zones", "incidents"):
            layers[name] = for_tiles(layers[name], app.settings)
        out["otok"] = otok
        out["overlays"] = layers
    return json_response(to_json_plotly(out))


def client_config(settings: Settings, *, lang: str, wall: bool, station: str | None = None) -> dict[str, Any]:
    """What assets/js/*live*.js needs: endpoints, timings, thresholds, ids and labels."""
    return {
        "station": (station or "")[:64],
        "map": ids.LIVE_MAP,
        "api": get_relative_path("/api/live"),
        "poll_ms": POLL_MS,
        "panel_ms": PANEL_MS,
        "resync_s": RESYNC_S,
        "timeout_ms": TIMEOUT_MS,
        "stale_s": settings.stale_after_s,
        "lost_s": settings.lost_after_s,
        "tz": settings.timezone,
        "lang": lang,
        "wall": wall,
        "ack": not wall,
        "fields": list(data.UNIT_FIELDS),
        "ids": {
            "alerts": ids.LIVE_ALERTS, "alerts_open": ids.LIVE_ALERTS_OPEN, "banner": ids.LIVE_BANNER,
            "selected": ids.LIVE_SELECTED, "counts": ids.LIVE_COUNTS, "clock": ids.LIVE_CLOCK,
            "layers": {n: ids.live_layer(n) for n in ("jurisdictions", "zones", "grids", "incidents")},
        },
        "units_layer_label": t("live.layer.units", lang),
        "status": {s: t(f"status.{s}", lang) for s in UNIT_STATUSES},
        "kind": {k: t(f"kind.{k}", lang) for k in (*UNIT_KINDS, UNKNOWN_KIND)},
        "cam": {c: t(f"cam.{c}", lang) for c in CAM_STATES},
        "priority": {str(p): t(f"priority.{p}", lang) for p in PRIORITIES},
        "text": {k: t(k, lang) for k in JS_TEXT_KEYS},
    }
