"""Accounts, sessions and the access rules of the core, against the real PostgreSQL; the CLI."""

from __future__ import annotations

import subprocess
import sys

import asyncpg
import pytest
from db_helpers import with_conn

from bench.services import REPO
from qingzhi.core import accounts, sessions
from qingzhi.core.access import Unauthorized, allowed, require, scope
from qingzhi.core.actor import Actor
from qingzhi.errors import QingzhiError

ADMIN = Actor.person("root", "test", role="admin")
PW = "correct horse battery"


def test_roles_and_station_scope() -> None:
    wall = Actor.person("w", role="wall")
    west = Actor.person("c", role="commander", stations=frozenset({"west"}))
    assert allowed(wall, "live.view") and not allowed(wall, "dispatch.act") and not allowed(wall, "alert.ack")
    assert allowed(west, "dispatch.act", ["west"]) and not allowed(west, "dispatch.act", ["east"])
    assert not allowed(west, "dispatch.act", ["west", "east"]) and not allowed(west, "dispatch.act", [None])
    assert not allowed(Actor.person("a", role="analyst"), "dispatch.view")
    assert allowed(Actor.device("u1"), "dispatch.act", ["east"]) and allowed(Actor.system("duty"), "users.manage")
    with pytest.raises(Unauthorized, match="c \\(commander\\) may not dispatch.act at station east"):
        require(west, "dispatch.act", "east")
    with pytest.raises(Unauthorized):
        require(Actor.person("x", role="no such role"), "live.view")
    with pytest.raises(ValueError):
        allowed(ADMIN, "no.such.permission")
    assert scope(west) == ["west"] and scope(ADMIN) is None


def test_accounts_need_an_admin_and_good_input(database_url: str) -> None:
    async def go(conn: asyncpg.Connection) -> None:
        with pytest.raises(Unauthorized):
            await accounts.add(Actor.person("c", role="commander"), conn, "eve", "admin", None, PW)
        for name, role, stations, pw, why in (
            ("a b", "wall", None, PW, "bad user name"), ("x" * 65, "wall", None, PW, "bad user name"),
            ("<img>", "wall", None, PW, "bad user name"), ("ok", "god", None, PW, "unknown role"),
            ("ok", "wall", ["../x"], PW, "bad station"), ("ok", "wall", None, "short", "at least 10"),
        ):
            with pytest.raises(QingzhiError, match=why):
                await accounts.add(ADMIN, conn, name, role, stations, pw)
        user = await accounts.add(ADMIN, conn, "li.wei", "commander", ["west"], PW)
        assert user == accounts.User("li.wei", "commander", frozenset({"west"}))
        with pytest.raises(QingzhiError, match="exists already"):
            await accounts.add(ADMIN, conn, "li.wei", "wall", None, PW)
        assert "argon2" in await conn.fetchval("SELECT password_hash FROM users")
        assert PW not in str(await conn.fetch("SELECT * FROM users"))
        assert [u.name for u in await accounts.listing(ADMIN, conn)] == ["li.wei"]
    with_conn(database_url, go)


def test_login_throttle_locks_account_and_address(database_url: str) -> None:
    async def go(conn: asyncpg.Connection) -> None:
        await accounts.add(ADMIN, conn, "li.wei", "commander", None, PW)
        assert (await accounts.authenticate(conn, "li.wei", PW, "10.0.0.1")).role == "commander"
        for _ in range(accounts.FREE_FAILURES):
            with pytest.raises(accounts.LoginRefused, match="wrong user name or password"):
                await accounts.authenticate(conn, "li.wei", "guess", "10.0.0.2")
        with pytest.raises(accounts.LoginRefused, match="too many failed logins") as locked:
            await accounts.authenticate(conn, "li.wei", PW, "10.0.0.3")     # even the right password
        assert 0 < locked.value.retry_after <= accounts.FIRST_LOCK_S
        with pytest.raises(accounts.LoginRefused, match="too many"):
            await accounts.authenticate(conn, "someone.else", PW, "10.0.0.2")   # the address is locked too
        with pytest.raises(accounts.LoginRefused, match="wrong user name"):
            await accounts.authenticate(conn, "nobody", PW, "10.0.0.9")         # unknown: same words
        log = await conn.fetch("SELECT actor, action, details->>'address' AS a FROM audit_log "
                               "WHERE action LIKE 'login%' ORDER BY id")
        assert [r["action"] for r in log].count("login.failure") == accounts.FREE_FAILURES + 3
        assert (log[0]["actor"], log[0]["action"], log[0]["a"]) == ("li.wei", "login.success", "10.0.0.1")
        await conn.execute("UPDATE login_throttle SET locked_until = now() - interval '1 s'")
        assert (await accounts.authenticate(conn, "li.wei", PW, "10.0.0.3")).name == "li.wei"
    with_conn(database_url, go)


def test_sessions_end_on_disable_password_change_idle_and_logout(database_url: str) -> None:
    async def go(conn: asyncpg.Connection) -> None:
        user = await accounts.add(ADMIN, conn, "li.wei", "commander", None, PW)
        token, csrf = await sessions.start(conn, user, "10.0.0.1", absolute_s=3600)
        assert await conn.fetchval("SELECT count(*) FROM web_sessions WHERE token_hash = $1", token.encode()) == 0
        live = await sessions.resume(conn, token, idle_s=1800)
        assert live is not None and live.user.name == "li.wei" and live.csrf == csrf
        assert await sessions.resume(conn, token + "x", idle_s=1800) is None
        await conn.execute("UPDATE web_sessions SET last_seen = now() - interval '31 minutes'")
        assert await sessions.resume(conn, token, idle_s=1800) is None                   # idle too long
        token, _ = await sessions.start(conn, user, "10.0.0.1", absolute_s=3600)
        await accounts.set_disabled(ADMIN, conn, "li.wei", True)
        assert await sessions.resume(conn, token, idle_s=1800) is None
        await accounts.set_disabled(ADMIN, conn, "li.wei", False)
        token, _ = await sessions.start(conn, user, "10.0.0.1", absolute_s=3600)
        await accounts.set_password(user.actor(), conn, "li.wei", "a new long password")
        assert await sessions.resume(conn, token, idle_s=1800) is None
        with pytest.raises(Unauthorized):
            await accounts.set_password(user.actor(), conn, "someone", "a new long password")
        token, _ = await sessions.start(conn, user, "10.0.0.1", absolute_s=3600)
        await sessions.end(conn, token, "10.0.0.1")
        assert await sessions.resume(conn, token, idle_s=1800) is None
        wall = await accounts.add(ADMIN, conn, "wall1", "wall", None, PW)
        token, _ = await sessions.start(conn, wall, "10.0.0.5", absolute_s=3600)
        await conn.execute("UPDATE web_sessions SET last_seen = now() - interval '2 days'")
        assert await sessions.resume(conn, token, idle_s=1800) is not None                # a wall stays on
    with_conn(database_url, go)


def cli(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qingzhi", "user", *args, "--database-url", url], cwd=REPO,
                          input=stdin, capture_output=True, text=True, timeout=60)


def test_user_cli(database_url: str) -> None:
    done = cli(database_url, "add", "zhang", "--role", "wall", "--station", "west", "--password-stdin",
               stdin=PW + "\n")
    assert done.returncode == 0 and "added zhang (wall, stations west)" in done.stdout, done.stderr
    assert "warning: no station west (yet)" in done.stderr      # no such station: likely a typo, said at once
    with_conn(database_url, lambda c: c.execute(
        "INSERT INTO stations (id, name_zh, name_en, lat, lon) VALUES ('east', '东', 'East', 30.2, 120.1)"))
    known = cli(database_url, "add", "wang", "--role", "wall", "--station", "east", "--password-stdin", stdin=PW + "\n")
    assert known.returncode == 0 and "warning" not in known.stderr
    again = cli(database_url, "add", "zhang", "--role", "wall", "--password-stdin", stdin=PW + "\n")
    assert again.returncode == 2 and again.stderr.strip() == "qingzhi: error: user zhang exists already"
    weak = cli(database_url, "add", "li", "--role", "admin", "--password-stdin", stdin="123\n")
    assert weak.returncode == 2 and "at least 10" in weak.stderr
    assert cli(database_url, "disable", "zhang").returncode == 0
    listed = cli(database_url, "list").stdout
    assert "zhang" in listed and "disabled" in listed and "li " not in listed and "wang" in listed
    assert cli(database_url, "passwd", "nobody", "--password-stdin", stdin=PW + "\n").returncode == 2
    entries = with_conn(database_url, lambda c: c.fetch("SELECT actor FROM audit_log WHERE action = 'user.add'"))
    assert len(entries) == 2 and all(e["actor"].startswith("cli:") for e in entries)
