"""`qingzhi briefing`: a briefing written to a file without a browser, and the duty loop's daily
briefing. The figures are the core's (qingzhi.core.briefing), the layout the page's exports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dashboard.briefing.export import format_of, write_export
from qingzhi.config import Settings
from qingzhi.core import audit
from qingzhi.core.actor import Actor
from qingzhi.core.briefing.build import build_briefing
from qingzhi.core.briefing.config import load_config
from qingzhi.core.briefing.period import Period
from qingzhi.db import connect


async def gather(settings: Settings, actor: Actor, period: Period, station: str | None) -> dict[str, Any]:
    """The briefing's figures for the actor (audited as an export when a person asks)."""
    cfg = load_config(settings.briefing_config)
    conn = await connect(settings.database_url or "")
    try:
        b = await build_briefing(actor, conn, period, cfg, station=station)
        if actor.kind == "person":
            await audit.export(actor, conn, "briefing", len(b["headlines"]),
                               {"period": period.label, "kind": period.kind, "station": station})
        return b
    finally:
        await conn.close()


def write_briefing(b: dict[str, Any], out: Path, lang: str, tz: str,
                   progress: Callable[[str], None] = lambda _: None) -> Path:
    """Write the briefing to `out` (.html, .pdf or .zip of CSV tables)."""
    format_of(out)
    return write_export(b, out, lang, tz, progress=progress)


def daily_files(folder: Path, day: dt.date) -> list[Path]:
    """Where the scheduled briefing of `day` is kept: PDF and HTML."""
    return [folder / f"briefing-{day.isoformat()}.{ext}" for ext in ("pdf", "html")]


def prune(folder: Path, keep_from: dt.date) -> int:
    """Delete scheduled briefing files of days before `keep_from`; returns how many."""
    gone = 0
    for path in folder.glob("briefing-*.*"):
        try:
            day = dt.date.fromisoformat(path.stem.removeprefix("briefing-"))
        except ValueError:
            continue  # not one of ours
        if day < keep_from and path.suffix in (".pdf", ".html"):
            path.unlink(missing_ok=True)
            gone += 1
    return gone
