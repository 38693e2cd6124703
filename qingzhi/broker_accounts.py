"""Accounts of the closed MQTT broker: Mosquitto's password file and its ACL (`qingzhi broker`).

A device logs in as `{station}/{unit}`. The ACL's `pattern` lines put the login name (`%u`) into
the topic, so the same few lines bind every device to its own topics: it publishes only under
`{root}/{station}/{unit}/…` and `{owntracks prefix}/{station}/{unit}`, and reads only its own
`…/cmd`. A new unit needs a password entry, never an ACL change. Services log in under names
without a `/` and have `user` sections of their own; for them the patterns name topics of the
wrong depth, which no subscriber takes for a device's.

Passwords are stored in Mosquitto 2's own format, `$7$<iterations>$<salt>$<PBKDF2-SHA512>`,
computed here because the qingzhi image has no `mosquitto_passwd` (a test checks the two agree).
Mosquitto reads both files at start and again on SIGHUP.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import click

from qingzhi.core.names import ID_RE
from qingzhi.errors import QingzhiError
from qingzhi.files import replacing

DEVICE_TOPICS = ("gps", "cam", "status", "ack", "check")  # PROTOCOL.md "Device → centre"
ITERATIONS = 101  # mosquitto_passwd's own; a generated password has 144 random bits and needs no stretching
MIN_PASSWORD = 16


@dataclass(frozen=True)
class Service:
    """A service account: what it is for, and its ACL rules (`read|write topic`, {root} and {ot} filled in)."""

    why: str
    rules: tuple[str, ...]


SERVICES: dict[str, Service] = {
    "ingest": Service("reads everything devices send (also as $share/<group>/…)", ("read {root}/#", "read {ot}/+/+")),
    "dashboard": Service("sends commands to any device", ("write {root}/+/+/cmd",)),
    "callcenter": Service("the 110 call-taking system: publishes incidents only", ("write {root}/incidents",)),
    "simulator": Service(
        "`qingzhi simulate` speaks for every device: for trials, no password for it in production",
        (*(f"write {{root}}/+/+/{kind}" for kind in DEVICE_TOPICS), "write {root}/incidents", "read {root}/+/+/cmd"),
    ),
}
DEFAULT_SERVICES = ("ingest", "dashboard", "callcenter")


def render_acl(topic_root: str, owntracks_prefix: str) -> str:
    """The Mosquitto ACL file for this topic root and OwnTracks prefix."""
    lines = [
        f"# Mosquitto ACL for qingzhi: topic root {topic_root}, OwnTracks prefix {owntracks_prefix}.",
        "# Written by `qingzhi broker acl`; README \"Security\" explains it. Reload: SIGHUP to mosquitto.",
        "#",
        "# Devices log in as \"<station>/<unit>\"; %u is that name, so each device publishes only under its",
        "# own station and unit and reads only its own commands.",
        *(f"pattern write {topic_root}/%u/{kind}" for kind in DEVICE_TOPICS),
        f"pattern read {topic_root}/%u/cmd",
        f"pattern write {owntracks_prefix}/%u",
    ]
    for name, service in SERVICES.items():
        lines += ["", f"# {name}: {service.why}", f"user {name}"]
        lines += [f"topic {access} {topic}" for access, topic in service_rules(name, topic_root, owntracks_prefix)]
    return "\n".join(lines) + "\n"


def service_rules(name: str, topic_root: str, owntracks_prefix: str) -> list[tuple[str, str]]:
    """A service account's rules as (`read` or `write`, topic filter) for this root and prefix."""
    rules = (rule.format(root=topic_root, ot=owntracks_prefix).split(" ", 1) for rule in SERVICES[name].rules)
    return [(access, topic) for access, topic in rules]


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The password in Mosquitto 2's password-file format (PBKDF2-SHA512, `$7$`)."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def hash_matches(password: str, stored: str) -> bool:
    """Whether a `$7$` hash is of this password (other formats never match)."""
    parts = stored.split("$")
    if len(parts) != 5 or parts[1] != "7" or not parts[2].isdigit():
        return False
    try:
        salt = base64.b64decode(parts[3], validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(mosquitto_hash(password, salt=salt, iterations=int(parts[2])), stored)


def check_id(what: str, value: str) -> str:
    """A station or unit id as PROTOCOL.md allows it; QingzhiError otherwise."""
    if not ID_RE.fullmatch(value):
        raise QingzhiError(f"bad {what} id {value[:80]!r}: 1–64 characters of A–Z a–z 0–9 _ . -")
    return value


def device_account(station: str, unit: str) -> str:
    """A device's login name, `station/unit`; QingzhiError for an id PROTOCOL.md does not allow."""
    return f"{check_id('station', station)}/{check_id('unit', unit)}"


async def station_units(database_url: str, station: str) -> list[str]:
    """The call signs of a station's units in the `units` table; QingzhiError if it has none."""
    from qingzhi.db import connect

    conn = await connect(database_url)
    try:
        rows = await conn.fetch("SELECT id FROM units WHERE station = $1 ORDER BY id", station)
    finally:
        await conn.close()
    if not rows:
        raise QingzhiError(f"station {station!r} has no units in the database: name them with --unit")
    return [r["id"] for r in rows]


def station_devices(station: str, units: Iterable[str], database_url: str | None) -> list[str]:
    """Device login names for these units, or for all the station's units in the database when none are named."""
    units = list(units)
    if not units:
        if not database_url:
            raise QingzhiError("no --unit and no database to read the station's units from: "
                               "pass --unit or set QZ_DATABASE_URL")
        units = asyncio.run(station_units(database_url, check_id("station", station)))
    return [device_account(station, unit) for unit in units]


def read_passwords(text: str) -> dict[str, str]:
    """`NAME PASSWORD` lines (blank lines and `#` comments skipped) → {name: password}."""
    given: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, password = line.strip().partition(" ")
        password = password.strip()
        if not password:
            raise QingzhiError(f"stdin line {number}: expected `NAME PASSWORD`")
        if len(password) < MIN_PASSWORD:
            raise QingzhiError(f"stdin line {number}: the password for {name} is shorter than {MIN_PASSWORD} "
                               "characters")
        if name in given:
            raise QingzhiError(f"stdin line {number}: {name} is given twice")
        given[name] = password
    return given


@dataclass
class Change:
    """What one run did to the password file."""

    generated: dict[str, str] = field(default_factory=dict)  # new or rotated, password made here: shown once
    from_input: list[str] = field(default_factory=list)       # new or rotated, password from stdin
    kept: list[str] = field(default_factory=list)             # there already, unchanged
    removed: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)           # asked to remove, not there


class PasswordFile:
    """Mosquitto's password file (`name:hash` lines), changed line by line and written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        except (OSError, UnicodeDecodeError) as exc:
            raise QingzhiError(f"cannot read password file {path}: {getattr(exc, 'strerror', None) or exc}") from None
        self.lines = text.splitlines()
        for number, line in enumerate(self.lines, 1):
            name, colon, stored = line.partition(":")
            if line.strip() and not line.startswith("#") and not (colon and name and stored.startswith("$")):
                raise QingzhiError(f"{path} line {number} is not `name:hash`: is this a Mosquitto password file? "
                                   "(nothing was changed)")

    def _index(self, name: str) -> int | None:
        return next((i for i, line in enumerate(self.lines) if line.partition(":")[0] == name), None)

    def hash_of(self, name: str) -> str | None:
        """The stored hash of an account, or None."""
        i = self._index(name)
        return None if i is None else self.lines[i].partition(":")[2]

    def set(self, name: str, password: str) -> None:
        """Give the account this password (a new entry at the end, or in place)."""
        line, i = f"{name}:{mosquitto_hash(password)}", self._index(name)
        if i is None:
            self.lines.append(line)
        else:
            self.lines[i] = line

    def remove(self, name: str) -> bool:
        """Drop the account; False if it was not there."""
        i = self._index(name)
        if i is not None:
            del self.lines[i]
        return i is not None

    def save(self) -> None:
        """Write the file atomically (no broker ever reads half of it), keeping its mode and owner."""
        write_atomically(self.path, "".join(line + "\n" for line in self.lines))


def write_atomically(path: Path, text: str, new_mode: int = 0o600) -> None:
    """Replace path's content in one rename, keeping an existing file's mode and owner (the broker's user
    must still read it); a new one gets new_mode. QingzhiError, with the old file untouched, on failure."""
    with replacing(path, new_mode=new_mode, keep_owner=True, new_dir_mode=0o700) as fh:
        fh.write(text)


def add_accounts(path: Path, names: Iterable[str], *, rotate: bool = False,
                 given: dict[str, str] | None = None) -> Change:
    """Make sure these accounts exist: new ones get a password (from `given`, else generated); existing
    ones are kept unless `rotate`. Running it twice changes nothing. Nothing is written on an error."""
    names = list(dict.fromkeys(names))
    pwfile, change = PasswordFile(path), Change()
    if given is not None and (unknown := sorted(set(given) - set(names))):
        raise QingzhiError(f"stdin names accounts not asked for here: {', '.join(unknown)}")
    for name in names:
        stored = pwfile.hash_of(name)
        if given is not None:
            if name not in given:
                raise QingzhiError(f"no password for {name} on stdin (one `NAME PASSWORD` line per account)")
            if stored is not None and hash_matches(given[name], stored):
                change.kept.append(name)
            elif stored is not None and not rotate:
                raise QingzhiError(f"{name} has another password already: pass --rotate to replace it")
            else:
                pwfile.set(name, given[name])
                change.from_input.append(name)
        elif stored is not None and not rotate:
            change.kept.append(name)
        else:
            change.generated[name] = secrets.token_urlsafe(18)  # URL-safe: goes into QZ_MQTT_URL as it is
            pwfile.set(name, change.generated[name])
    if change.generated or change.from_input:
        pwfile.save()
    return change


def remove_accounts(path: Path, names: Iterable[str]) -> Change:
    """Remove these accounts (those not there are reported, not an error)."""
    if not path.exists():
        raise QingzhiError(f"no password file {path}")
    pwfile, change = PasswordFile(path), Change()
    for name in dict.fromkeys(names):
        (change.removed if pwfile.remove(name) else change.absent).append(name)
    if change.removed:
        pwfile.save()
    return change


def write_acl(path: Path, text: str) -> bool:
    """Write the ACL file if its content differs; whether it changed."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        raise QingzhiError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    write_atomically(path, text, new_mode=0o644)
    return True


def env_name(account: str) -> str:
    """The environment variable docker-compose.yml takes an account's password from."""
    return "MQTT_" + re.sub(r"[^A-Za-z0-9]", "_", account).upper() + "_PASSWORD"


def report(change: Change, path: Path, *, as_env: bool = False) -> None:
    """New passwords on stdout, once (`NAME PASSWORD`, or `MQTT_NAME_PASSWORD=…` lines with as_env);
    what changed on stderr."""
    for name, password in change.generated.items():
        click.echo(f"{env_name(name)}={password}" if as_env else f"{name} {password}")
    parts = [f"{label} {', '.join(names)}" for label, names in (
        ("new password for", [*change.generated, *change.from_input]), ("kept", change.kept),
        ("removed", change.removed), ("not there", change.absent)) if names]
    click.echo(f"{path}: {'; '.join(parts) or 'nothing to do'}", err=True)
    if change.generated or change.from_input or change.removed:
        click.echo("reload the broker to apply it: SIGHUP to mosquitto (docker compose kill -s HUP mosquitto)",
                   err=True)
    if change.generated:
        click.echo("the passwords above are shown only now: keep them in your secret store", err=True)
