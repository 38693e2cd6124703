"""The Dash app factory. No I/O at import time: everything happens in create_app().

All the wiring is here: the pages come from layouts/ (each registers itself and its layout),
every feature's callbacks are registered on the app (dashboard/callbacks.py says why not
`dash.callback`), and the JSON endpoints the pages' JS polls are Flask blueprints.
"""

from __future__ import annotations

import logging
from pathlib import Path

from dash import Dash

from dashboard import shell, tiles
from dashboard.auth import guard
from dashboard.cameras import api as camera_api
from dashboard.analysis import callbacks as analysis
from dashboard.audit import callbacks as audit
from dashboard.briefing import callbacks as briefing, task_callbacks as briefing_tasks
from dashboard.context import AppContext
from dashboard.db import Database
from dashboard.duty import callbacks as duty, wall as duty_wall
from dashboard.dispatch import api as dispatch_api, callbacks as dispatch, panel_callbacks as dispatch_panels
from dashboard.health import blueprint as health
from dashboard.live import api as live_api, callbacks as live
from dashboard.search import callbacks as search
from qingzhi.config import Settings, load_settings
from qingzhi.db import Limits
from qingzhi.errors import QingzhiError

ROOT = Path(__file__).resolve().parent.parent
FEATURES = (shell, live, dispatch, dispatch_panels, analysis, audit, briefing, briefing_tasks,
            search, duty, duty_wall)  # each has its CALLBACKS
APIS = (live_api, camera_api, dispatch_api)  # each has its Flask blueprint


def create_app(settings: Settings | None = None) -> Dash:
    """A ready Dash app for these settings: pages from layouts/, assets from assets/, a DB pool."""
    settings = settings or load_settings()
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(ROOT / "layouts"),
        assets_folder=str(ROOT / "assets"),
        assets_path_ignore=["vendor"],   # hls.js: loaded by the camera player when a page first plays video
        title="情指中心 qingzhi",
        suppress_callback_exceptions=True,
        update_title=None,
    )
    app.layout = shell.build_shell(settings.language)
    permissions: dict[str, str | None] = {}
    for feature in FEATURES:
        permissions |= feature.CALLBACKS.register(app)
    for api in APIS:
        app.server.register_blueprint(api.blueprint)
    app.server.register_blueprint(health)   # /health checks the database (Dash's own health_endpoint does not)
    settings, tile_file = tiles.install(app.server, settings)  # before the gate: its CSP names the tiles' origin
    guard.install(app, settings, permissions)
    limits = Limits(settings.db_connect_timeout_s, settings.dashboard_db_timeout_s)
    read_db = Database(settings.database_read_url, limits=limits) if settings.database_read_url else None
    app.server.extensions["qingzhi"] = AppContext(settings=settings, db=Database(settings.database_url, limits=limits),
                                                  tiles=tile_file, read_db=read_db)
    return app


def serve(settings: Settings, *, host: str, port: int, debug: bool) -> None:
    """Run the app on a threaded WSGI server (waitress) until interrupted."""
    app = create_app(settings)
    if debug:
        print(f"qingzhi dashboard on http://{host}:{port}/", flush=True)
        app.run(host=host, port=port, debug=True)
        return
    from waitress.server import create_server

    logging.basicConfig()  # as waitress.serve does, for its own warnings
    try:  # bind first: the URL is printed only once it is served
        server = create_server(app.server, host=host, port=port, threads=16, ident="qingzhi")
    except (OSError, ValueError) as exc:  # port in use, not this machine's address, no such host
        raise QingzhiError(f"cannot serve on {host}:{port}: {getattr(exc, 'strerror', None) or exc}") from None
    print(f"qingzhi dashboard on http://{host}:{port}/", flush=True)
    server.run()


__all__ = ["create_app", "serve"]
