"""Web accounts: add, list, disable, change passwords, and log in with throttling.

Passwords are hashed with argon2 (argon2-cffi). Repeated failures lock the account and the
address they come from for a time that doubles with each further failure (30 s after the fifth,
up to an hour), even for the right password, so guessing is slow; a success clears the account.
Logins, failures and account changes are audited with the address they came from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from qingzhi.core import audit
from qingzhi.core.access import ROLES, require
from qingzhi.core.actor import Actor
from qingzhi.core.names import ID_RE, USER_RE
from qingzhi.errors import QingzhiError

HASHER = PasswordHasher()
DUMMY_HASH = HASHER.hash("not a password of anyone's")   # unknown names cost the same time
MIN_PASSWORD = 10
FREE_FAILURES = 5          # failures before the first lock
FIRST_LOCK_S, MAX_LOCK_S = 30, 3600


class LoginRefused(QingzhiError):
    """A login that did not succeed; `retry_after` seconds when locked."""

    def __init__(self, message: str, retry_after: int = 0):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class User:
    """An account as the web and the actions see it."""

    name: str
    role: str
    stations: frozenset[str] | None
    disabled: bool = False

    def actor(self, screen: str | None = None) -> Actor:
        """This person acting from a screen, with their role and scope."""
        return Actor.person(self.name, screen, role=self.role, stations=self.stations)


def user_from_row(row: asyncpg.Record) -> User:
    """A User from a users row (name, role, stations, disabled)."""
    return User(row["name"], row["role"], None if row["stations"] is None else frozenset(row["stations"]),
                row["disabled"])


def check_password(password: str) -> str:
    """The password if it is acceptable; QingzhiError saying why not."""
    if len(password) < MIN_PASSWORD:
        raise QingzhiError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024 or "\x00" in password:
        raise QingzhiError("a password may have at most 1,024 characters and no NUL")
    return password


def _check_account(name: str, role: str, stations: list[str] | None) -> None:
    if not USER_RE.fullmatch(name):
        raise QingzhiError(f"bad user name {name[:80]!r}: 1–64 letters, digits, _ . @ -")
    if role not in ROLES:
        raise QingzhiError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    for s in stations or ():
        if not ID_RE.fullmatch(s):
            raise QingzhiError(f"bad station id {s[:80]!r}")


async def add(actor: Actor, conn: asyncpg.Connection, name: str, role: str, stations: list[str] | None,
              password: str) -> User:
    """Create an account; a name already taken is an error."""
    require(actor, "users.manage")
    _check_account(name, role, stations)
    digest = HASHER.hash(check_password(password))
    async with conn.transaction():
        row = await conn.fetchrow(
            """INSERT INTO users (name, role, stations, password_hash) VALUES ($1, $2, $3, $4)
               ON CONFLICT (name) DO NOTHING RETURNING name, role, stations, disabled""",
            name, role, sorted(set(stations)) if stations else None, digest)
        if row is None:
            raise QingzhiError(f"user {name} exists already")
        await audit.record(conn, actor, "user.add", details={"user": name, "role": role, "stations": stations})
    return user_from_row(row)


async def listing(actor: Actor, conn: asyncpg.Connection) -> list[User]:
    """Every account, by name."""
    require(actor, "users.manage")
    return [user_from_row(r) for r in await conn.fetch("SELECT name, role, stations, disabled FROM users ORDER BY name")]


async def set_disabled(actor: Actor, conn: asyncpg.Connection, name: str, disabled: bool) -> None:
    """Disable (ending every session at once) or enable an account."""
    require(actor, "users.manage")
    async with conn.transaction():
        done = await conn.execute("UPDATE users SET disabled = $2 WHERE name = $1", name, disabled)
        if done.endswith(" 0"):
            raise QingzhiError(f"no user {name}")
        if disabled:
            await conn.execute("DELETE FROM web_sessions WHERE username = $1", name)
        await audit.record(conn, actor, "user.disable" if disabled else "user.enable", details={"user": name})


async def set_password(actor: Actor, conn: asyncpg.Connection, name: str, password: str) -> None:
    """Change a password (an admin, or the person themselves); other sessions of the account end."""
    if not (actor.kind == "person" and actor.name == name):
        require(actor, "users.manage")
    digest = HASHER.hash(check_password(password))
    async with conn.transaction():
        done = await conn.execute(
            "UPDATE users SET password_hash = $2, password_changed_at = now() WHERE name = $1", name, digest)
        if done.endswith(" 0"):
            raise QingzhiError(f"no user {name}")
        await conn.execute("DELETE FROM web_sessions WHERE username = $1", name)
        await conn.execute("DELETE FROM login_throttle WHERE key = $1", f"user:{name}")
        await audit.record(conn, actor, "user.password", details={"user": name})


async def _locked_for(conn: asyncpg.Connection, keys: list[str]) -> int:
    until = await conn.fetchval("SELECT max(locked_until) FROM login_throttle WHERE key = ANY($1::text[])", keys)
    if until is None:
        return 0
    return max(0, int((until - dt.datetime.now(dt.timezone.utc)).total_seconds() + 0.999))


async def _fail(conn: asyncpg.Connection, keys: list[str]) -> None:
    await conn.executemany(
        f"""INSERT INTO login_throttle AS t (key, failures) VALUES ($1, 1)
            ON CONFLICT (key) DO UPDATE SET failures = t.failures + 1, last_failure = now(),
                locked_until = CASE WHEN t.failures + 1 >= {FREE_FAILURES} THEN now() + make_interval(
                    secs => least({MAX_LOCK_S}, {FIRST_LOCK_S} * 2 ^ (t.failures + 1 - {FREE_FAILURES}))) END""",
        [(k,) for k in keys])


async def authenticate(conn: asyncpg.Connection, name: str, password: str, address: str) -> User:
    """The user for a right name and password; LoginRefused otherwise (the same words for every wrong case)."""
    shown = name[:64].replace("\x00", "")
    keys = [f"user:{shown}", f"addr:{address}"]
    failed = Actor.person(shown or "?", "login", role="wall")     # names the attempt in the audit log
    wait = await _locked_for(conn, keys)
    if wait:
        await audit.record(conn, failed, "login.failure", details={"address": address, "reason": "locked"})
        raise LoginRefused(f"too many failed logins: try again in {wait} s", wait)
    row = await conn.fetchrow(
        "SELECT name, role, stations, disabled, password_hash FROM users WHERE name = $1", shown)
    try:
        HASHER.verify(row["password_hash"] if row else DUMMY_HASH, password)
        ok = row is not None and not row["disabled"]
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        async with conn.transaction():
            await _fail(conn, keys)
            await audit.record(conn, failed, "login.failure", details={"address": address})
        raise LoginRefused("wrong user name or password, or the account is disabled")
    user = user_from_row(row)
    async with conn.transaction():
        await conn.execute("DELETE FROM login_throttle WHERE key = $1", keys[0])
        if HASHER.check_needs_rehash(row["password_hash"]):
            await conn.execute("UPDATE users SET password_hash = $2 WHERE name = $1", user.name, HASHER.hash(password))
        await audit.record(conn, user.actor("login"), "login.success", details={"address": address})
    return user
