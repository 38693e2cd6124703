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
    read_db: Database | None = None   # a streaming replica (QZ_DATABASE_READ_URL), when there is one

    @property
    def reads(self) -> Database:
        """Where reads that may be a little behind go (analysis, audit search): the replica, else the primary.
        The live map, dispatch, sign-in and every action stay on `db`, where freshness matters."""
        return self.read_db or self.db


def ctx() -> AppContext:
    """The running app's context (inside a request or callback)."""
    return current_app.extensions["qingzhi"]
