"""The `qingzhi` command and its sub-commands.

Every setting is an option `--name` and an environment variable `QZ_NAME` (see config.py);
heavy modules are imported inside each command so that `qingzhi --help` stays instant.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from qingzhi.broker_accounts import SERVICES  # light: the standard library and click
from qingzhi.config import Settings, load_settings, require_caller_key
from qingzhi.errors import QingzhiError

MQTT_TLS = ("mqtt_ca", "mqtt_cert", "mqtt_key")
CONNECTION = ("database_url", "mqtt_url", "topic_root", "mqtt_protocol", *MQTT_TLS)


def settings_options(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add `--name` options for these Settings fields; the command receives `settings`."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> Any:
            flags = {n: kwargs.pop(n) for n in names}
            return fn(settings=load_settings(**flags), **kwargs)

        for name in reversed(names):
            field = Settings.model_fields[name]
            wrapper = click.option(
                f"--{name.replace('_', '-')}",
                name,
                default=None,
                help=f"{field.description} [env QZ_{name.upper()}]",
            )(wrapper)
        return wrapper

    return decorate


def need(settings: Settings, *names: str) -> None:
    """Fail with one line when a command needs a setting that is not given."""
    for name in names:
        if getattr(settings, name) is None:
            raise QingzhiError(f"no {name}: set QZ_{name.upper()} or pass --{name.replace('_', '-')}")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
def cli() -> None:
    """qingzhi (情指): real-time command and dispatch for police command centres."""


@cli.command()
@settings_options("database_url")
def migrate(settings: Settings) -> None:
    """Apply database schema migrations (idempotent, never destructive)."""
    from qingzhi.db import migrate_url

    need(settings, "database_url")
    applied = asyncio.run(migrate_url(settings.database_url))
    click.echo(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "schema is up to date")


@cli.command()
@settings_options(*CONNECTION, "client_id", "share_group", "batch_size", "batch_ms", "retention_days",
                  "stats_interval_s", "db_connect_timeout_s", "ingest_db_timeout_s", "owntracks_prefix")
def ingest(settings: Settings) -> None:
    """Receive device messages over MQTT and store them in PostgreSQL."""
    from ingest.service import run

    need(settings, "database_url", "mqtt_url")
    require_caller_key(settings)
    run(settings)


@cli.command()
@settings_options("database_url", "retention_days", "lost_after_s", "timezone", "rejects_keep_days",
                  "rejects_keep_rows")
@click.option("--every", "every_s", default=5.0, show_default=True, type=click.FloatRange(0.5, 3600),
              help="seconds between rounds of chores")
def worker(settings: Settings, every_s: float) -> None:
    """Run the duty loop: ack-timeout, overdue and lost-unit alerts, aggregates, partitions, rejects."""
    from qingzhi.worker import run

    need(settings, "database_url")
    require_caller_key(settings)
    run(settings, every_s)


@cli.command()
@settings_options("database_url", "health_timeout_s")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def status(settings: Settings, as_json: bool) -> None:
    """Show each ingest process (messages/s, batch sizes, rejects, lag, connections) and the duty loop."""
    from qingzhi.status import show

    need(settings, "database_url")
    show(settings, as_json=as_json)


@cli.command()
@settings_options("database_url")
@click.option("--limit", default=50, show_default=True, help="how many, newest first")
@click.option("--since", default=None, help="only those received after this ISO time")
def rejects(settings: Settings, limit: int, since: str | None) -> None:
    """List rejected (bad) messages with their topic, reason and payload."""
    from ingest.rejects import show

    need(settings, "database_url")
    show(settings, limit=limit, since=since)


@cli.command()
@settings_options(*CONNECTION, "center", "timezone", "caller_key", "client_id")
@click.option("--units", default=300, show_default=True, type=click.IntRange(1, 20_000), help="number of patrol units")
@click.option("--stations", default=4, show_default=True, type=click.IntRange(1, 12), help="number of police stations")
@click.option("--rate", default=3.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="seconds between one terminal's fixes")
@click.option("--speedup", default=1.0, show_default=True, type=click.FloatRange(0.01, 3600),
              help="simulated seconds per real second: movement, dwell times, battery drain and the call rate "
                   "run faster; message timestamps stay wall-clock and terminals still report every --rate s")
@click.option("--incidents-per-hour", default=12.0, show_default=True, type=click.FloatRange(0, 100_000),
              help="mean 110 calls per (simulated) hour")
@click.option("--seed", default=1, show_default=True, help="random seed (same seed, same district)")
@click.option("--roads", type=click.Path(exists=True, dir_okay=False), default=None, help="road network GeoJSON")
@click.option("--history", "history_days", default=0, type=click.IntRange(0, 3650),
              help="write this many days of history (incidents, tracks, statuses) into the database, then exit")
def simulate(settings: Settings, **options: Any) -> None:
    """Simulate a district's fleet, body cameras and 110 calls over MQTT."""
    from qingzhi.simulator.run import run

    need(settings, "mqtt_url") if not options["history_days"] else need(settings, "database_url")
    require_caller_key(settings)
    run(settings, **options)


@cli.command()
@settings_options(*CONNECTION, "center", "language")
@click.option("--units", default=300, show_default=True, help="number of simulated units")
@click.option("--history", "history_days", default=28, show_default=True, help="days of history to back-fill")
@click.option("--port", default=8050, show_default=True, help="dashboard port")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="embedded database directory")
def demo(settings: Settings, **options: Any) -> None:
    """Run the whole system on one machine: database, broker, ingest, simulator, dashboard."""
    from qingzhi.demo import run

    run(settings, **options)


@cli.command()
@settings_options(
    "database_url", "mqtt_url", "topic_root", "mqtt_protocol", "language", "timezone", "tile_url",
    "tile_attribution", "center", "stale_after_s", "lost_after_s", "session_idle_min", "session_hours",
    "allowed_hosts", "secure_cookies", "stream_hosts", "db_connect_timeout_s", "dashboard_db_timeout_s",
    "health_timeout_s", *MQTT_TLS, "data_dir",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True)
@click.option("--debug", is_flag=True, help="Dash debug mode (reloader, dev tools)")
def dashboard(settings: Settings, host: str, port: int, debug: bool) -> None:
    """Serve the web dashboard."""
    from dashboard.app import serve

    need(settings, "database_url")
    require_caller_key(settings)
    serve(settings, host=host, port=port, debug=debug)


@cli.group(name="import")
def import_() -> None:
    """Import data files."""


@import_.command(name="incidents")
@settings_options("database_url", "caller_key", "timezone")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["generic", "police-uk"]), default="generic", show_default=True)
@click.option("--map", "mapping", multiple=True, help="column mapping FIELD=COLUMN (generic format)")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None, help="write bad rows here")
def import_incidents(settings: Settings, path: Path, fmt: str, mapping: tuple[str, ...], report: Path | None) -> None:
    """Import incidents from a CSV file; bad rows are skipped and reported."""
    from qingzhi.importer import import_incidents as run_import

    need(settings, "database_url")
    require_caller_key(settings)
    run_import(settings, path, fmt=fmt, mapping=mapping, report=report)


@cli.group()
def user() -> None:
    """Web accounts: add, list, disable, enable, passwd."""


ROLE = click.Choice(["wall", "analyst", "commander", "admin"])


@user.command(name="add")
@settings_options("database_url")
@click.argument("name")
@click.option("--role", type=ROLE, required=True, help="wall, analyst, commander or admin")
@click.option("--station", "stations", multiple=True, help="limit the account to this station (repeat)")
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from standard input")
def user_add(settings: Settings, name: str, role: str, stations: tuple[str, ...], password_stdin: bool) -> None:
    """Create an account."""
    from qingzhi import user_admin

    need(settings, "database_url")
    user_admin.add(settings.database_url, name, role, stations, user_admin.read_password())


@user.command(name="list")
@settings_options("database_url")
def user_list(settings: Settings) -> None:
    """List the accounts."""
    from qingzhi import user_admin

    need(settings, "database_url")
    user_admin.listing(settings.database_url)


@user.command(name="disable")
@settings_options("database_url")
@click.argument("name")
def user_disable(settings: Settings, name: str) -> None:
    """Disable an account and end its sessions."""
    from qingzhi import user_admin

    need(settings, "database_url")
    user_admin.disable(settings.database_url, name, True)


@user.command(name="enable")
@settings_options("database_url")
@click.argument("name")
def user_enable(settings: Settings, name: str) -> None:
    """Enable a disabled account."""
    from qingzhi import user_admin

    need(settings, "database_url")
    user_admin.disable(settings.database_url, name, False)


@user.command(name="passwd")
@settings_options("database_url")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from standard input")
def user_passwd(settings: Settings, name: str, password_stdin: bool) -> None:
    """Set a new password (ends the account's sessions)."""
    from qingzhi import user_admin

    need(settings, "database_url")
    user_admin.passwd(settings.database_url, name, user_admin.read_password())


@cli.command()
@settings_options("database_url")
@click.option("--limit", default=100, show_default=True)
@click.option("--export", type=click.Path(dir_okay=False, path_type=Path), default=None, help="write CSV here")
def audit(settings: Settings, limit: int, export: Path | None) -> None:
    """List or export the audit log."""
    from qingzhi.audit_report import show

    need(settings, "database_url")
    show(settings, limit=limit, export=export)


@cli.group()
def broker() -> None:
    """Accounts and ACL of the closed MQTT broker (Mosquitto's password and ACL files; README "Security")."""


PASSWD = click.argument("passwd_file", type=click.Path(dir_okay=False, path_type=Path))
ROTATE = click.option("--rotate", is_flag=True, help="give accounts that exist a new password too")
PASSWORD_STDIN = click.option("--password-stdin", is_flag=True,
                              help="read `NAME PASSWORD` lines from stdin instead of generating passwords")


def _given(password_stdin: bool) -> dict[str, str] | None:
    from qingzhi.broker_accounts import read_passwords

    return read_passwords(sys.stdin.read()) if password_stdin else None


@broker.command()
@settings_options("topic_root", "owntracks_prefix")
@click.argument("acl_file", type=click.Path(dir_okay=False, path_type=Path), required=False)
def acl(settings: Settings, acl_file: Path | None) -> None:
    """Write the ACL for this topic root and OwnTracks prefix to ACL_FILE (stdout without it)."""
    from qingzhi.broker_accounts import render_acl, write_acl

    text = render_acl(settings.topic_root, settings.owntracks_prefix)
    if acl_file is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"{acl_file}: {'written' if write_acl(acl_file, text) else 'unchanged'}", err=True)


@broker.command()
@PASSWD
@click.argument("names", nargs=-1, type=click.Choice(list(SERVICES)))
@ROTATE
@PASSWORD_STDIN
@click.option("--env", "as_env", is_flag=True, help="print new passwords as MQTT_<NAME>_PASSWORD=… lines (for .env)")
def services(passwd_file: Path, names: tuple[str, ...], rotate: bool, password_stdin: bool, as_env: bool) -> None:
    """Add the service accounts NAMES (default: ingest dashboard callcenter) to PASSWD_FILE; new
    passwords are printed once."""
    from qingzhi.broker_accounts import DEFAULT_SERVICES, add_accounts, report

    change = add_accounts(passwd_file, names or DEFAULT_SERVICES, rotate=rotate, given=_given(password_stdin))
    report(change, passwd_file, as_env=as_env)


@broker.command()
@settings_options("database_url")
@PASSWD
@click.option("--station", required=True, help="the station whose devices these are")
@click.option("--unit", "units", multiple=True, help="a unit's call sign (repeat); default: the station's units "
                                                      "in the database")
@ROTATE
@PASSWORD_STDIN
def devices(settings: Settings, passwd_file: Path, station: str, units: tuple[str, ...], rotate: bool,
            password_stdin: bool) -> None:
    """Add a device account `STATION/UNIT` per unit to PASSWD_FILE; new passwords are printed once."""
    from qingzhi.broker_accounts import add_accounts, report, station_devices

    names = station_devices(station, units, settings.database_url)
    report(add_accounts(passwd_file, names, rotate=rotate, given=_given(password_stdin)), passwd_file)


@broker.command()
@PASSWD
@click.argument("names", nargs=-1, required=True)
def remove(passwd_file: Path, names: tuple[str, ...]) -> None:
    """Remove accounts (a device is `STATION/UNIT`) from PASSWD_FILE."""
    from qingzhi.broker_accounts import remove_accounts, report

    report(remove_accounts(passwd_file, names), passwd_file)


def main() -> None:
    """Console entry point: operator errors print as one line, exit status 2."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except QingzhiError as exc:
        click.echo(f"qingzhi: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
