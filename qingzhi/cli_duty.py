"""`qingzhi level set|clear|list` and `qingzhi plan`: graded duty from the command line (issue 11).

Heavy modules are imported inside each command, as in cli.py, so that `qingzhi --help` stays instant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from qingzhi.cli_options import CONNECTION, need, settings_options
from qingzhi.config import Settings

AS_USER = click.option("--as", "as_user", default=None, help="act as this web account (its role and stations)")


def target_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--district | --station S | --zone Z."""
    fn = click.option("--zone", default=None, help="one patrol zone")(fn)
    fn = click.option("--station", default=None, help="one station")(fn)
    return click.option("--district", is_flag=True, help="the whole district")(fn)


def _target(district: bool, station: str | None, zone: str | None) -> tuple[str, str | None]:
    given = [(n, v) for n, v in (("district", district or None), ("station", station), ("zone", zone)) if v]
    if len(given) != 1:
        raise click.UsageError("name exactly one of --district, --station S, --zone Z")
    scope, value = given[0]
    return scope, None if scope == "district" else value


@click.group()
def level() -> None:
    """Alert levels (I highest … IV normal) of the district, a station or a zone."""


@level.command(name="set")
@settings_options("database_url")
@AS_USER
@target_options
@click.option("--level", "level_", required=True, help="I, II, III or IV")
@click.option("--reason", required=True, help="why (shown on the map, the wall and in the audit log)")
@click.option("--until", default=None, help="reverts by itself at this ISO time (with its UTC offset)")
def level_set(settings: Settings, as_user: str | None, district: bool, station: str | None, zone: str | None,
              level_: str, reason: str, until: str | None) -> None:
    """Set a level (audited)."""
    from qingzhi import duty_report

    need(settings, "database_url")
    scope, target = _target(district, station, zone)
    duty_report.set_level(settings, as_user, scope=scope, target=target, level=level_, reason=reason, until=until)


@level.command(name="clear")
@settings_options("database_url")
@AS_USER
@target_options
@click.option("--reason", required=True, help="why")
def level_clear(settings: Settings, as_user: str | None, district: bool, station: str | None, zone: str | None,
                reason: str) -> None:
    """Remove a level: the wider one applies again (audited)."""
    from qingzhi import duty_report

    need(settings, "database_url")
    scope, target = _target(district, station, zone)
    duty_report.clear_level(settings, as_user, scope=scope, target=target, reason=reason)


@level.command(name="list")
@settings_options("database_url")
@AS_USER
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def level_list(settings: Settings, as_user: str | None, as_json: bool) -> None:
    """The levels in force."""
    from qingzhi import duty_report

    need(settings, "database_url")
    duty_report.list_levels(settings, as_user, as_json=as_json)


@click.command()
@settings_options(*CONNECTION, "center", "data_dir", "response_plan")
@AS_USER
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
@click.option("--apply", is_flag=True, help="send the moves as `patrol` commands (audited)")
@click.option("--recall", is_flag=True, help="send `recall` to units a lowered level no longer needs")
def plan(settings: Settings, as_user: str | None, as_json: bool, apply: bool, recall: bool) -> None:
    """The redeployment plan for the levels in force: moves (unit, from, zone, ETA), shortfalls, totals."""
    from qingzhi import duty_report

    need(settings, "database_url")
    duty_report.plan(settings, as_user, as_json=as_json, apply=apply, recall=recall)
