"""GET /health: 200 when the dashboard can reach its database within the health timeout,
otherwise 503 with a one-line JSON reason. Load balancers, `qingzhi demo`, the tests and the
benchmarks wait on it; a database that has gone silent shows here in seconds."""

from __future__ import annotations

import json
import logging

import asyncpg
from flask import Blueprint, Response

from dashboard.context import ctx
from qingzhi.db import NotAnswering
from qingzhi.errors import QingzhiError

blueprint = Blueprint("health", __name__)
log = logging.getLogger("qingzhi.dashboard")


def _answer(code: int, **body: str) -> Response:
    return Response(json.dumps(body), status=code, mimetype="application/json", headers={"Cache-Control": "no-store"})


@blueprint.get("/health")
def health() -> Response:
    """{"status": "ok"}, or 503 {"status": "unavailable", "reason": "database not answering (…)"}."""
    app = ctx()
    try:
        app.db.ping(app.settings.health_timeout_s)
    except NotAnswering as exc:
        log.warning("health: %s", exc)
        return _answer(503, status="unavailable", reason=f"database not answering (no reply within "
                                                          f"{app.settings.health_timeout_s:g} s)")
    except (QingzhiError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        # /health is public: the details (the database's host, its error) go to the log only
        log.warning("health: database unavailable: %s", (str(exc) or type(exc).__name__).splitlines()[0])
        return _answer(503, status="unavailable", reason="database unavailable")
    return _answer(200, status="ok")
