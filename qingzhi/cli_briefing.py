"""`qingzhi briefing`: the day's, week's, month's or a range's briefing as PDF, HTML or CSV tables."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from qingzhi.cli_options import need, settings_options
from qingzhi.config import Settings


@click.command()
@settings_options("database_url", "timezone", "briefing_config", "language")
@click.option("--day", default=None, help="the day (ISO date); with --week / --month the week or month holding it")
@click.option("--week", "kind", flag_value="week", help="the Monday–Sunday week holding --day")
@click.option("--month", "kind", flag_value="month", help="the calendar month holding --day")
@click.option("--from", "first", default=None, help="first day of a range (with --to)")
@click.option("--to", "last", default=None, help="last day of a range (inclusive)")
@click.option("--station", default=None, help="only this station (default: every station)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="FILE.pdf, FILE.html, or FILE.zip for the tables as CSV")
def briefing(settings: Settings, day: str | None, kind: str | None, first: str | None, last: str | None,
             station: str | None, out: Path) -> None:
    """Write a briefing (日研判/周会商/月调度) to a file, without a browser."""
    from dashboard.briefing.export import format_of
    from qingzhi.briefing_report import gather, write_briefing
    from qingzhi.core.briefing.period import parse_day, period_of
    from qingzhi.errors import QingzhiError
    from qingzhi.user_admin import cli_actor

    need(settings, "database_url")
    format_of(out)  # a wrong file ending fails before any work
    if first or last:
        if day or kind or not (first and last):
            raise QingzhiError("a range is --from DAY --to DAY, without --day, --week or --month")
        period = period_of("range", parse_day(first, "--from"), settings.timezone, last=parse_day(last, "--to"))
    else:
        period = period_of(kind or "day", parse_day(day, "--day"), settings.timezone)
    b = asyncio.run(gather(settings, cli_actor(), period, station))
    path = write_briefing(b, out, settings, progress=lambda step: click.echo(f"briefing: {step}…", err=True))
    click.echo(f"wrote {path} ({path.stat().st_size:,} bytes)")
