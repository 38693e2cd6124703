"""`qingzhi rejects`: the newest rejected messages with topic, reason and a payload preview."""

from __future__ import annotations

import asyncio
from datetime import datetime

import click

from ingest import store
from qingzhi.config import Settings
from qingzhi.core.times import parse_moment
from qingzhi.db import connect

PREVIEW = 120


def preview(payload: bytes, size: int | None = None) -> str:
    """The payload as text (bytes that are not UTF-8 and control characters shown escaped), cut short;
    size is the whole payload's, of which `rejects` keeps only a prefix."""
    size = len(payload) if size is None else size
    text = payload[: PREVIEW * 4].decode("utf-8", errors="backslashreplace")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= PREVIEW and size <= PREVIEW * 4 else f"{text[:PREVIEW]}… ({size} bytes)"


async def _fetch(url: str, limit: int, since: datetime | None) -> list:
    conn = await connect(url)
    try:
        return await store.read_rejects(conn, limit, since)
    finally:
        await conn.close()


def show(settings: Settings, limit: int = 50, since: str | None = None) -> None:
    """Print the newest rejects first: time, topic, reason, payload preview."""
    rows = asyncio.run(_fetch(settings.database_url, limit, parse_moment(since, "--since", zone="UTC")))
    if not rows:
        click.echo("no rejected messages")
        return
    for r in rows:
        click.echo(f"{r['recv_ts'].isoformat(timespec='milliseconds')}  {r['topic']}\n"
                   f"    reason:  {r['reason']}\n    payload: {preview(bytes(r['payload']), r['size'])}")
