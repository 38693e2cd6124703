"""Database time limits (qingzhi.db.Limits) on the machine's PostgreSQL: what each session is
given, what a slow or silent database turns into for the ingest writer, the dashboard's pool,
`qingzhi status` and /health. The faults mid-stream are in test_ingest_faults.py."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
from tcp_proxy import TcpProxy

from dashboard.app import create_app
from dashboard.db import Database
from ingest.status import is_stale
from ingest.writer import is_connection_error, is_transient
from qingzhi.config import Settings, load_settings
from qingzhi.db import Limits, NotAnswering, connect
from qingzhi.errors import QingzhiError


def run(coro):  # noqa: ANN001, ANN201 - test shorthand
    return asyncio.run(coro)


def test_limits_set_client_and_server_timeouts(database_url: str) -> None:
    async def go() -> tuple[str, str, float | None, str]:
        limited = await connect(database_url, Limits(connect_s=2, command_s=2))
        plain = await connect(database_url)
        try:
            return (await limited.fetchval("SHOW statement_timeout"),
                    await limited.fetchval("SHOW idle_in_transaction_session_timeout"),
                    limited._config.command_timeout, await plain.fetchval("SHOW statement_timeout"))
        finally:
            await limited.close()
            await plain.close()

    # the server's limits run SERVER_GRACE_S (5 s) longer than the client's; migrations and imports get none
    assert run(go()) == ("7s", "7s", 2, "0")


def test_a_slow_command_fails_at_the_client_limit(database_url: str) -> None:
    async def go() -> float:
        conn = await connect(database_url, Limits(command_s=0.5))
        started = time.monotonic()
        try:
            with pytest.raises(TimeoutError):
                await conn.execute("SELECT pg_sleep(5)")
            return time.monotonic() - started
        finally:
            conn.terminate()

    assert run(go()) < 1.5


def test_server_timeouts_count_as_a_lost_connection_for_the_writer(database_url: str) -> None:
    """A statement the server cancels for time is retried by the ingest, never rejected as bad data."""

    async def go() -> BaseException:
        conn = await connect(database_url)
        try:
            await conn.execute("SET statement_timeout = '50ms'")
            try:
                await conn.execute("SELECT pg_sleep(1)")
            except asyncpg.PostgresError as exc:
                return exc
            raise AssertionError("not cancelled")
        finally:
            await conn.close()

    def retried(exc: BaseException) -> bool:   # the writer's test in Writer._commit
        return is_connection_error(exc) or is_transient(exc)

    cancelled = run(go())
    assert isinstance(cancelled, asyncpg.QueryCanceledError) and retried(cancelled)
    assert retried(TimeoutError()) and retried(NotAnswering(2.0, "postgresql://x"))
    assert retried(asyncpg.IdleInTransactionSessionTimeoutError("terminating connection due to idle-in-transaction"))
    assert not retried(asyncpg.UniqueViolationError("refused data"))


def test_a_connect_to_a_silent_server_is_not_answering(database_url: str) -> None:
    proxy = TcpProxy.before(database_url).start()
    try:
        proxy.freeze()
        started = time.monotonic()
        with pytest.raises(NotAnswering, match=r"database postgresql://.* not answering \(no reply within 1 s\)"):
            run(connect(proxy.url(database_url), Limits(connect_s=1)))
        assert time.monotonic() - started < 2
    finally:
        proxy.stop()


def test_dashboard_database_bounds_each_call_and_recovers(database_url: str) -> None:
    db = Database(database_url, max_size=2, limits=Limits(connect_s=2, command_s=1))

    async def sleep(conn: asyncpg.Connection, s: float) -> None:
        await conn.execute(f"SELECT pg_sleep({s})")

    try:
        for _ in range(3):          # more timed-out calls than the pool has connections
            started = time.monotonic()
            with pytest.raises(NotAnswering, match=r"not answering \(no reply within 1 s\)"):
                db.run(sleep, 5)
            assert time.monotonic() - started < 1.5
        with pytest.raises(NotAnswering, match=r"within 0.2 s"):
            db.run_within(0.2, sleep, 1)
        db.ping(5)                  # the pool took its connections back
        assert db.run(lambda conn: conn.fetchval("SELECT 41 + 1")) == 42
    finally:
        db.close()


@pytest.mark.parametrize(("row", "stale"), [
    ({"age_s": 31.0, "broker": "ok"}, True),                        # no interval recorded: every 10 s
    ({"age_s": 29.0, "broker": "ok"}, False),
    ({"age_s": 3.5, "broker": "ok", "interval_s": 1}, True),
    ({"age_s": 3000.0, "broker": "stopped", "interval_s": 1}, False),  # it said goodbye
])
def test_a_row_is_stale_after_three_missed_intervals(row: dict, stale: bool) -> None:
    assert is_stale(row) is stale


def test_timeouts_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QZ_INGEST_DB_TIMEOUT_S", "45")
    s = load_settings(health_timeout_s="1.5")
    assert (s.ingest_db_timeout_s, s.health_timeout_s, s.dashboard_db_timeout_s, s.db_connect_timeout_s) == (45, 1.5, 10, 5)
    with pytest.raises(QingzhiError, match=r"dashboard_db_timeout_s \(QZ_DASHBOARD_DB_TIMEOUT_S"):
        load_settings(dashboard_db_timeout_s="0")


def test_health_reports_a_database_that_went_away(settings: Settings) -> None:
    proxy = TcpProxy.before(settings.database_url).start()
    try:
        app = create_app(settings.model_copy(update={"database_url": proxy.url(settings.database_url)}))
        client = app.server.test_client()
        ok = client.get("/health")
        assert (ok.status_code, ok.get_json(), ok.headers["Cache-Control"]) == (200, {"status": "ok"}, "no-store")
        proxy.cut()
        down = client.get("/health")
        assert down.status_code == 503 and down.get_json()["status"] == "unavailable"
        assert down.get_json()["reason"] == "database unavailable"      # public: no host, no driver error
        proxy.restore()
        assert client.get("/health").status_code == 200
        app.server.extensions["qingzhi"].db.close()
    finally:
        proxy.stop()
