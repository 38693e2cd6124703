"""What a callback needs from the running app: its settings, database and MQTT publisher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from dashboard.db import Database
from qingzhi.config import Settings


@dataclass
class AppContext:
    """Attached to the Flask app by create_app(); one per dashboard process."""

    settings: Settings
    db: Database
    publisher: Any = None  # set by the dispatch module when a broker is configured
    tiles: Any = None      # the open MBTiles file (dashboard/tiles.py) when QZ_TILES_MBTILES is set


def ctx() -> AppContext:
    """The running app's context (inside a request or callback)."""
    return current_app.extensions["qingzhi"]
