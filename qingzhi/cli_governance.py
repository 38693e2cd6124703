"""`qingzhi repeats`, `qingzhi search` and `qingzhi grids load`: repeat-call governance and incident
search from the command line (the work is in governance_report.py, which calls the core)."""

from __future__ import annotations

from pathlib import Path

import click

from qingzhi.cli_options import need, settings_options
from qingzhi.config import Settings, require_caller_key


@click.command()
@settings_options("database_url")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")
def repeats(settings: Settings, as_json: bool) -> None:
    """Current repeat-call flags, each with its reason, incidents and follow-up task."""
    from qingzhi import governance_report

    need(settings, "database_url")
    governance_report.show_repeats(settings, as_json=as_json)


@click.command()
@settings_options("database_url", "caller_key", "timezone")
@click.argument("query")
@click.option("--from", "start", default=None, help="only incidents received at or after this ISO time")
@click.option("--to", "end", default=None, help="only incidents received before this ISO time")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="at most this many")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")
def search(settings: Settings, query: str, start: str | None, end: str | None, limit: int, as_json: bool) -> None:
    """Find incidents by id, address text, type, caller's number, unit or station; each with its full trace."""
    from qingzhi import governance_report

    need(settings, "database_url")
    governance_report.show_search(settings, query, start=start, end=end, limit=limit, as_json=as_json,
                                  caller_key=require_caller_key(settings))


@click.group()
def grids() -> None:
    """Community grids (一居一警) and their responsible officers."""


@grids.command(name="load")
@settings_options("database_url")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--station", required=True, help="the station whose grids the file replaces")
def grids_load(settings: Settings, path: Path, station: str) -> None:
    """Replace a station's grids with a GeoJSON FeatureCollection (properties: id, name, officer, unit, grid_worker)."""
    from qingzhi import governance_report

    need(settings, "database_url")
    governance_report.load_grids(settings, path, station)
