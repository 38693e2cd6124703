"""The camera views' pieces of a page: the player's settings, a strip of tiles, a card's button.

The tiles themselves are made by assets/js/62_camera_strips.js inside the strip's `qz-cams-tiles`
element, which no Dash prop describes, so re-rendering the page around it leaves them playing.
"""

from __future__ import annotations

from dash import html

from dashboard import ids
from dashboard.i18n import t

STRIP_MODES = ("wall", "incident")


def build_camera_config(*, config_json: str) -> html.Div:
    """The hidden element the player reads its settings from (dashboard.cameras.api.config_json)."""
    return html.Div(id=ids.CAMERA_CONFIG, className="qz-camera-config", hidden=True, **{"data-config": config_json})


def build_camera_strip(*, strip_id: str, mode: str, lang: str, station: str | None = None) -> html.Div:
    """A titled strip of live tiles: `wall` follows the newest streams (of `station`, or every visible
    one), `incident` the units of the incident the page selects."""
    if mode not in STRIP_MODES:
        raise ValueError(f"unknown strip mode {mode!r}")
    return html.Div(
        [html.Div(t(f"camera.strip.{mode}", lang), className="qz-cams-title"),
         html.Div(className="qz-cams-tiles", **{"data-mode": mode, "data-station": (station or "")[:64]})],
        id=strip_id, className=f"qz-cams qz-cams-{mode}",
    )


def build_view_button(*, unit_id: str, lang: str) -> html.Button:
    """Opens the unit's live view over the page (assets/js/62_camera_strips.js); audited when opened."""
    return html.Button(t("camera.open", lang), className="qz-cam-open", type="button", **{"data-unit": unit_id})
