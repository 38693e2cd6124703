"""The JSON endpoint the dispatch page's JS polls instead of a dcc.Interval, and its configuration.

dash-renderer records every change of a callback input in its undo history; a desk left open
for days would grow it with every tick. Here assets/js/50_dispatch_stream.js asks every
POLL_MS what changed and pushes the new parts into the page with `set_props` (children, which
no callback reads, so nothing is recorded). After a click the page's callbacks redraw at once
and hand the JS the tokens of what they drew (dispatch/callbacks.py), so it does not push the
same again.

  GET /api/dispatch/live?lang=L&incident=ID&qtok=Q&dtok=D&atok=A
      -> {"queue": {token, cards, count}}      when the queue's token differs from Q
         {"detail": {token, head, units, recommend, layer}}   when the incident's differs from D
         {"actions": {token, children}}        when what may happen next differs from A
"""

from __future__ import annotations

from typing import Any

from dash import get_relative_path
from flask import Response, request
from plotly.io.json import to_json_plotly

from dashboard import ids
from dashboard.context import ctx
from dashboard.dispatch.views import detail_view, queue_view
from dashboard.endpoints import json_blueprint, json_response, text_arg
from dashboard.i18n import lang_of, t
from qingzhi.config import Settings

blueprint = json_blueprint("dispatch_api", "/api/dispatch")
POLL_MS = 2000
TIMEOUT_MS = 8000  # a request slower than this counts as a failure (connection banner)


@blueprint.get("/live")
def live() -> Response:
    """The parts of the page whose token differs from the client's."""
    app = ctx()
    lang = lang_of(request.args.get("lang"), app.settings.language)
    incident = text_arg("incident")
    out: dict[str, Any] = {}
    queue = queue_view(app)
    if queue.token != text_arg("qtok"):
        cards, count = queue.render(lang=lang, selected=incident)
        out["queue"] = {"token": queue.token, "cards": cards, "count": count}
    detail = detail_view(app, incident) if incident else None
    if detail is not None and detail.token != text_arg("dtok"):
        out["detail"] = {"token": detail.token, **detail.render(lang=lang, settings=app.settings)}
    if detail is not None and detail.actions_token != text_arg("atok"):
        out["actions"] = {"token": detail.actions_token, "children": detail.render_actions(lang=lang)}
    return json_response(to_json_plotly(out))


def client_config(settings: Settings, *, lang: str) -> dict[str, Any]:
    """What assets/js/50_dispatch_stream.js needs: endpoint, timings, the ids it fills, labels."""
    return {
        "api": get_relative_path("/api/dispatch"),
        "poll_ms": POLL_MS,
        "timeout_ms": TIMEOUT_MS,
        "tz": settings.timezone,
        "lang": lang,
        "ids": {
            "queue": ids.DISPATCH_QUEUE, "count": ids.DISPATCH_QUEUE_COUNT, "head": ids.DISPATCH_HEAD,
            "units": ids.DISPATCH_UNITS, "recommend": ids.DISPATCH_RECOMMEND, "layer": ids.DISPATCH_MAP_LAYER,
            "actions": ids.DISPATCH_ACTIONS, "banner": ids.DISPATCH_BANNER,
        },
        "text": {"connection_lost": t("common.connection_lost", lang)},
    }
