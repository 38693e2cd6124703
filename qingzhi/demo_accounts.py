"""The demo's accounts: one per role, with passwords made once per data directory and kept there
(readable by its owner only), so that a second run of the demo logs in with the same ones."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from qingzhi.core import accounts
from qingzhi.core.access import ROLES
from qingzhi.core.actor import Actor
from qingzhi.db import connect
from qingzhi.files import replacing

FILE = "accounts.txt"


def _passwords(folder: Path) -> dict[str, str]:
    path = folder / FILE
    if path.exists():
        pairs = (line.split(" ", 1) for line in path.read_text(encoding="utf-8").splitlines() if " " in line)
        known = {name: pw for name, pw in pairs if name in ROLES}
        if set(known) == set(ROLES):
            return known
    made = {role: secrets.token_urlsafe(12) for role in ROLES}
    with replacing(path, new_mode=0o600) as fh:  # passwords: the owner's only, and never half a file
        fh.write("".join(f"{role} {pw}\n" for role, pw in made.items()))
    return made


async def _ensure(url: str, passwords: dict[str, str]) -> None:
    conn = await connect(url)
    try:
        demo = Actor.system("demo")
        for role, password in passwords.items():
            if await conn.fetchval("SELECT true FROM users WHERE name = $1", role):
                await accounts.set_password(demo, conn, role, password)
            else:
                await accounts.add(demo, conn, role, role, None, password)
    finally:
        await conn.close()


def ensure(url: str, folder: Path) -> dict[str, str]:
    """Accounts `wall`, `analyst`, `commander` and `admin` with this data directory's passwords."""
    passwords = _passwords(folder)
    asyncio.run(_ensure(url, passwords))
    return passwords
