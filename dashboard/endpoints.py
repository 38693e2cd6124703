"""What the JSON endpoints polled by the pages' JS share: responses, query parameters, errors.

A parameter the client got wrong is a 400 with a one-line reason (so is one the database refuses); a database that cannot
answer is a 503, which the page's JS shows as "connection lost since …" until it recovers.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import asyncpg
from flask import Blueprint, Response, request

from qingzhi.core.access import Unauthorized
from qingzhi.db import NotAnswering
from qingzhi.errors import QingzhiError

log = logging.getLogger("qingzhi.dashboard")

TEXT_MAX = 64  # ids, station codes and tokens are short


class BadRequest(ValueError):
    """A query parameter the client got wrong (HTTP 400)."""


def json_response(payload: Any, status: int = 200) -> Response:
    """`payload` (or JSON text as it is) as an uncached JSON response."""
    return Response(payload if isinstance(payload, str) else json.dumps(payload), status=status,
                    mimetype="application/json", headers={"Cache-Control": "no-store"})


def text_arg(name: str) -> str | None:
    """A short text query parameter; None when absent or empty."""
    value = request.args.get(name) or None
    if value is not None and len(value) > TEXT_MAX:
        raise BadRequest(f"{name}: at most {TEXT_MAX} characters")
    return value


def int_arg(name: str, default: int) -> int:
    """A non-negative integer query parameter (`default` when absent)."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name}: not an integer: {raw[:40]!r}") from None
    if value < 0:
        raise BadRequest(f"{name}: must be >= 0")
    return value


def _bad_request(exc: BadRequest) -> Response:
    return json_response({"error": str(exc)}, 400)


def _unavailable(exc: Exception) -> Response:
    # the details (which may name the database host) go to the log, not to the browser
    log.warning("%s %s: %s: %s", request.method, request.path, type(exc).__name__, exc)
    silent = isinstance(exc, (NotAnswering, TimeoutError))
    return json_response({"error": "database not answering" if silent else "database unavailable"}, 503)


# PostgreSQL's data exceptions (class 22: a NUL character in text, a number out of range) and asyncpg's refusal
# of an argument of the wrong type or size: the value sent was bad, the database is fine
BAD_VALUES = (asyncpg.exceptions.DataError, asyncpg.exceptions._base.DataError)


def bad_value(exc: Exception) -> Response:
    """400 for a value the database refused (BAD_VALUES); what it was goes to the log, not to the browser."""
    log.warning("%s %s: refused value: %s", request.method, request.path, str(exc).splitlines()[0][:200])
    return json_response({"error": "a value sent cannot be stored or looked up "
                                   "(a NUL character, a wrong type or a number out of range)"}, 400)


def bad_input(exc: Exception) -> Response:
    """400 for a callback argument of the wrong type or shape (dashboard.callbacks.BadInput), saying which."""
    log.warning("%s %s: %s", request.method, request.path, str(exc)[:200])
    return json_response({"error": str(exc)[:200]}, 400)


def _forbidden(exc: Exception) -> Response:
    return json_response({"error": str(exc)}, 403)


def json_blueprint(name: str, url_prefix: str) -> Blueprint:
    """A blueprint whose errors are JSON: 400 for bad parameters, 503 when the database cannot answer."""
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix)
    blueprint.register_error_handler(BadRequest, _bad_request)
    blueprint.register_error_handler(Unauthorized, _forbidden)     # before QingzhiError, its parent
    for exc in BAD_VALUES:                                          # before PostgresError, the parent of one
        blueprint.register_error_handler(exc, bad_value)
    for exc in (QingzhiError, asyncpg.PostgresError, OSError, TimeoutError):
        blueprint.register_error_handler(exc, _unavailable)
    return blueprint
