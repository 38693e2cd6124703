"""`qingzhi user …` (web accounts) and `qingzhi broker …` (the MQTT broker's accounts and ACL).

Heavy modules are imported inside each command, as in cli.py, so that `qingzhi --help` stays instant.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from qingzhi.broker_accounts import SERVICES  # light: the standard library and click
from qingzhi.cli_options import need, settings_options
from qingzhi.config import Settings


@click.group()
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


def _switch(command: str, disabled: bool, doc: str) -> None:
    """Register `qingzhi user disable|enable NAME`: one action, two words for it."""

    @user.command(name=command, help=doc)
    @settings_options("database_url")
    @click.argument("name")
    def run(settings: Settings, name: str) -> None:
        from qingzhi import user_admin

        need(settings, "database_url")
        user_admin.disable(settings.database_url, name, disabled)


_switch("disable", True, "Disable an account and end its sessions.")
_switch("enable", False, "Enable a disabled account.")


@user.command(name="passwd")
@settings_options("database_url")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from standard input")
def user_passwd(settings: Settings, name: str, password_stdin: bool) -> None:
    """Set a new password (ends the account's sessions)."""
    from qingzhi import user_admin

    need(settings, "database_url")
    user_admin.passwd(settings.database_url, name, user_admin.read_password())


@click.group()
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
