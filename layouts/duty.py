"""/duty — graded duty (等级勤务) and dynamic deployment (动态布警): set alert levels, see the
redeployment plan on the map and as a ticked list, send the ticked moves as `patrol` commands and
follow their acknowledgement. Callbacks: dashboard/duty/callbacks.py; rules: qingzhi.core.levels,
qingzhi.core.redeploy."""

from __future__ import annotations

from typing import Any

from dash import html, register_page

from dashboard.auth.session_cookies import current_actor
from dashboard.context import ctx
from dashboard.duty import queries
from dashboard.duty.components import build_page
from dashboard.i18n import lang_of
from dashboard.shell import page_title
from qingzhi.core.access import scope

register_page(__name__, path="/duty", title=page_title("nav.duty"), name="duty", order=8, nav="nav.duty")


def layout(lang: str | None = None, **_: Any) -> html.Div:
    """The page for the logged-in person's stations."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    stations = scope(current_actor("duty"))
    return build_page(settings=app.settings, lang=lang, targets=app.db.run(queries.targets, stations),
                      zones=app.db.run(queries.zone_features, stations))
