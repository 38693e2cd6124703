"""`qingzhi user …`: web accounts from the command line, as the local administrator.

Whoever runs the CLI against the database is its administrator; the audit log names them
`cli:<login>`. Passwords come on standard input, never as an argument (shell histories and
process lists would keep them).
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import click

from qingzhi.core import accounts
from qingzhi.core.actor import Actor
from qingzhi.db import connect
from qingzhi.errors import QingzhiError

T = TypeVar("T")


def cli_actor() -> Actor:
    """The person at the terminal, an administrator."""
    return Actor.person(f"cli:{getpass.getuser()}", "cli", role="admin")


def read_password(confirm: bool = True) -> str:
    """The password from standard input: one line, or typed twice at a terminal."""
    if sys.stdin.isatty():
        return click.prompt("password", hide_input=True, confirmation_prompt=confirm)
    line = sys.stdin.readline()
    if not line:
        raise QingzhiError("no password on standard input")
    return line.rstrip("\r\n")


def run(url: str, fn: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """fn(conn) on a new connection."""
    async def go() -> T:
        conn = await connect(url)
        try:
            return await fn(conn)
        finally:
            await conn.close()
    return asyncio.run(go())


def add(url: str, name: str, role: str, stations: tuple[str, ...], password: str) -> None:
    """Create an account."""
    async def go(conn: asyncpg.Connection) -> tuple[accounts.User, list[str]]:
        user = await accounts.add(cli_actor(), conn, name, role, list(stations) or None, password)
        known = {r[0] for r in await conn.fetch("SELECT id FROM stations WHERE id = ANY($1::text[])", list(stations))}
        return user, sorted(set(stations) - known)

    user, unknown = run(url, go)
    click.echo(f"added {user.name} ({user.role}, {describe_scope(user.stations)})")
    if unknown:  # stations may be configured after their accounts, so not an error; but likely a typo
        click.echo(f"warning: no station {', '.join(unknown)} (yet): the account sees nothing of it until one "
                   "is configured with that id", err=True)


def describe_scope(stations: Any) -> str:
    """'every station' or the list."""
    return "every station" if stations is None else "stations " + ", ".join(sorted(stations))


def listing(url: str) -> None:
    """Print every account."""
    users = run(url, lambda c: accounts.listing(cli_actor(), c))
    if not users:
        click.echo("no users: add one with `qingzhi user add NAME --role admin --password-stdin`")
    for u in users:
        click.echo(f"{u.name:24} {u.role:10} {'disabled' if u.disabled else 'active':9} {describe_scope(u.stations)}")


def disable(url: str, name: str, disabled: bool) -> None:
    """Disable or enable an account."""
    run(url, lambda c: accounts.set_disabled(cli_actor(), c, name, disabled))
    click.echo(f"{name} {'disabled; its sessions ended' if disabled else 'enabled'}")


def passwd(url: str, name: str, password: str) -> None:
    """Set a new password."""
    run(url, lambda c: accounts.set_password(cli_actor(), c, name, password))
    click.echo(f"password of {name} changed; its sessions ended")
