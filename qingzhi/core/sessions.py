"""Server-side web sessions: the browser holds a random token, the database its hash.

A session ends when the account is disabled or its password changed (those delete its rows),
after a time without activity (long for wall screens, which nobody touches), and at an absolute
limit. Each carries its own CSRF token, which state-changing requests must echo.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import asyncpg

from qingzhi.core import audit
from qingzhi.core.accounts import User, user_from_row

WALL_IDLE_S = 7 * 24 * 3600          # a wall screen stays logged in for a week without a touch
TOUCH_EVERY_S = 60                   # last_seen is written at most once a minute per session


@dataclass(frozen=True)
class Session:
    """A live session: whose it is and its CSRF token."""

    user: User
    csrf: str


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def idle_limit_s(role: str, idle_s: int) -> int:
    """How long a session of this role may stay unused."""
    return WALL_IDLE_S if role == "wall" else idle_s


async def start(conn: asyncpg.Connection, user: User, address: str, absolute_s: int) -> tuple[str, str]:
    """A new session for a user who just logged in: (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    lifetime = max(absolute_s, WALL_IDLE_S * 4) if user.role == "wall" else absolute_s
    await conn.execute(
        """INSERT INTO web_sessions (token_hash, username, csrf, address, expires_at)
           VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))""",
        _digest(token), user.name, csrf, address, float(lifetime))
    return token, csrf


async def resume(conn: asyncpg.Connection, token: str, idle_s: int) -> Session | None:
    """The session for a cookie token, if it is still alive (and touch it); None otherwise."""
    if not token or len(token) > 200:
        return None
    row = await conn.fetchrow(
        """SELECT u.name, u.role, u.stations, u.disabled, s.csrf, s.expires_at < now() AS expired,
                  extract(epoch FROM now() - s.last_seen) AS idle
           FROM web_sessions s JOIN users u ON u.name = s.username WHERE s.token_hash = $1""",
        _digest(token))
    if row is None:
        return None
    if row["disabled"] or row["expired"] or row["idle"] > idle_limit_s(row["role"], idle_s):
        await conn.execute("DELETE FROM web_sessions WHERE token_hash = $1", _digest(token))
        return None
    if row["idle"] > TOUCH_EVERY_S:
        await conn.execute("UPDATE web_sessions SET last_seen = now() WHERE token_hash = $1", _digest(token))
    return Session(user_from_row(row), row["csrf"])


async def end(conn: asyncpg.Connection, token: str, address: str) -> None:
    """Log out: the session is gone from the database, whatever the browser keeps."""
    row = await conn.fetchrow(
        """DELETE FROM web_sessions s USING users u WHERE s.token_hash = $1 AND u.name = s.username
           RETURNING u.name, u.role, u.stations, u.disabled""", _digest(token))
    if row is not None:
        await audit.record(conn, user_from_row(row).actor("logout"), "logout", details={"address": address})


async def prune(conn: asyncpg.Connection, idle_s: int) -> int:
    """Delete sessions past their end or idle limit (a duty of the worker)."""
    status = await conn.execute(
        """DELETE FROM web_sessions s USING users u WHERE u.name = s.username AND (s.expires_at < now()
              OR s.last_seen < now() - make_interval(secs => CASE WHEN u.role = 'wall' THEN $2 ELSE $1 END))""",
        float(idle_s), float(WALL_IDLE_S))
    return int(status.split()[-1])
