"""The writer's error policy: retry what a reconnect can cure, reject what the database refuses."""

from __future__ import annotations

import asyncpg
from asyncpg.exceptions import _base

from ingest.writer import is_connection_error
from qingzhi.errors import QingzhiError


def test_only_connection_errors_are_retried() -> None:
    for exc in (OSError(), asyncpg.AdminShutdownError(), asyncpg.CannotConnectNowError(),
                asyncpg.ConnectionDoesNotExistError(), QingzhiError("cannot reach database"),
                _base.InternalClientError("cannot switch to state 15; another operation (2) is in progress")):
        assert is_connection_error(exc), exc
    for exc in (asyncpg.UniqueViolationError(), asyncpg.CheckViolationError(), _base.DataError("bad value"), ValueError()):
        assert not is_connection_error(exc), exc
