"""The Dash app factory. No I/O at import time: everything happens in create_app()."""

from __future__ import annotations

from pathlib import Path

from dash import Dash

from dashboard.context import AppContext
from dashboard.db import Database
from dashboard.health import blueprint as health
from qingzhi.config import Settings, load_settings
from qingzhi.db import Limits

ROOT = Path(__file__).resolve().parent.parent


def create_app(settings: Settings | None = None) -> Dash:
    """A ready Dash app for these settings: pages from layouts/, assets from assets/, a DB pool."""
    settings = settings or load_settings()
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(ROOT / "layouts"),
        assets_folder=str(ROOT / "assets"),
        title="情指中心 qingzhi",
        suppress_callback_exceptions=True,
        update_title=None,
    )
    from dashboard.live_api import blueprint as live_api  # imported after Dash(): pages import it too
    from dashboard.shell import build_shell, register_callbacks

    app.layout = build_shell(settings.language)
    register_callbacks(app)
    app.server.register_blueprint(live_api)
    app.server.register_blueprint(health)   # /health checks the database (Dash's own health_endpoint does not)
    limits = Limits(settings.db_connect_timeout_s, settings.dashboard_db_timeout_s)
    app.server.extensions["qingzhi"] = AppContext(settings=settings, db=Database(settings.database_url, limits=limits))
    return app


def serve(settings: Settings, *, host: str, port: int, debug: bool) -> None:
    """Run the app on a threaded WSGI server (waitress) until interrupted."""
    app = create_app(settings)
    print(f"qingzhi dashboard on http://{host}:{port}/", flush=True)
    if debug:
        app.run(host=host, port=port, debug=True)
        return
    from waitress import serve as waitress_serve

    waitress_serve(app.server, host=host, port=port, threads=16, ident="qingzhi")


__all__ = ["create_app", "serve"]
