"""`qingzhi briefing`: a briefing written to a file without a browser, and the duty loop's daily
briefing. The figures are the core's (qingzhi.core.briefing), the layout the page's exports."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from dashboard.briefing.basemap import basemap_of
from dashboard.briefing.export import document, format_of, pdf_of, write_bytes, write_export
from qingzhi.config import Settings
from qingzhi.core import audit
from qingzhi.core.actor import Actor
from qingzhi.core.briefing.build import build_briefing
from qingzhi.core.briefing.config import load_config
from qingzhi.core.briefing.period import Period, period_of
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


def write_briefing(b: dict[str, Any], out: Path, settings: Settings,
                   progress: Callable[[str], None] = lambda _: None) -> Path:
    """Write the briefing to `out` (.html, .pdf or .zip of CSV tables), in the settings' language and time zone,
    its map on the streets of the local MBTiles file if one is set."""
    format_of(out)
    return write_export(b, out, settings.language, settings.timezone, progress=progress,
                        basemap=basemap_of(settings))


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


async def daily(conn: asyncpg.Connection, settings: Settings, now: dt.datetime | None = None) -> str:
    """The duty loop's chore: from `briefing_hour` local time, write the day before's briefing (PDF
    and HTML, every station, as the system) into `briefing_dir` once; prune files past the keep days."""
    if settings.briefing_dir is None:
        return "0 written (no briefing folder: QZ_BRIEFING_DIR)"
    local = (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(settings.timezone))
    day = local.date() - dt.timedelta(days=1)
    folder = Path(settings.briefing_dir)
    pruned = prune(folder, local.date() - dt.timedelta(days=settings.briefing_keep_days)) if folder.is_dir() else 0
    wanted = [p for p in daily_files(folder, day) if not p.exists()]
    if local.hour < settings.briefing_hour or not wanted:
        return f"0 written ({day} {'not due yet' if wanted else 'already there'}; {pruned} old pruned)"
    b = await build_briefing(Actor.system("briefing"), conn, period_of("day", day, settings.timezone),
                             load_config(settings.briefing_config))
    # the charts and the PDF take seconds of CPU: off the loop's thread; one document for both files
    html = await asyncio.to_thread(document, b, settings.language, settings.timezone, basemap=basemap_of(settings))
    for path in wanted:
        data = html.encode("utf-8") if path.suffix == ".html" else await asyncio.to_thread(pdf_of, html)
        write_bytes(path, data)
    return f"{len(wanted)} written ({', '.join(p.name for p in wanted)}; {pruned} old pruned)"
