"""/dispatch: the incident queue, one incident's detail with recommended units, one-click
assignment with live acknowledgement, the lifecycle actions, and the side panels (repeat flags,
follow-ups, response times, new incident, settings).

Its callbacks are dashboard/dispatch/callbacks.py and panel_callbacks.py; between clicks the
page is kept up to date by assets/js/50_dispatch_stream.js (dashboard/dispatch/api.py).
"""

from __future__ import annotations

from typing import Any

from dash import html, register_page

from dashboard.cameras.api import config_json
from dashboard.context import ctx
from dashboard.live import queries as live_data
from dashboard.dispatch import panels
from dashboard.dispatch.api import client_config
from dashboard.dispatch.components import build_page
from dashboard.i18n import lang_of
from dashboard.shell import page_title

register_page(__name__, path="/dispatch", title=page_title("nav.dispatch"),
              name="dispatch", order=1, nav="nav.dispatch")


def layout(lang: str | None = None, incident: str | None = None, **_: Any) -> html.Div:
    """The page; `?incident=ID` opens with that incident selected (links from the live map)."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    return build_page(settings=app.settings, lang=lang, selected=incident,
                      config=client_config(app.settings, lang=lang), tabs=panels.build_tabs(lang=lang),
                      panels=panels.build_panels(lang=lang), areas=app.db.run(live_data.areas),
                      camera_config=config_json(app.settings, lang=lang))
