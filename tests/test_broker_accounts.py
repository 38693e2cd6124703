"""`qingzhi broker`: the password file (Mosquitto's own format), service and device accounts, the ACL;
idempotent runs, passwords from stdin, and one-line errors that leave the files as they were."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
from pathlib import Path

import asyncpg
from dispatch_fixtures import run_db, seed_station, seed_unit
from test_cli import qingzhi

from qingzhi.broker_accounts import hash_matches, mosquitto_hash, render_acl

REPO = Path(__file__).resolve().parent.parent


def passwords(out: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The `NAME PASSWORD` lines a run printed (after checking it succeeded)."""
    assert out.returncode == 0, out.stderr
    return dict(line.split(" ", 1) for line in out.stdout.splitlines())


def one_line_error(out: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """The run failed with exit status 2 and one line naming each fragment, no traceback."""
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr, out.stderr
    for fragment in fragments:
        assert fragment in out.stderr, out.stderr


def test_hash_is_mosquitto_passwd_format(tmp_path: Path) -> None:
    pwfile = tmp_path / "pw"
    pwfile.touch(mode=0o600)
    subprocess.run(["mosquitto_passwd", "-b", str(pwfile), "st1/u1", "a long pass phrase"], check=True)
    name, stored = pwfile.read_text().strip().split(":", 1)
    _, seven, iterations, salt, _ = stored.split("$")
    assert name == "st1/u1" and seven == "7"
    assert mosquitto_hash("a long pass phrase", salt=base64.b64decode(salt), iterations=int(iterations)) == stored
    assert hash_matches("a long pass phrase", stored) and not hash_matches("a long pass phrasE", stored)
    assert not hash_matches("x", "$6$old$format")


def test_services_then_devices_idempotent_and_rotated(tmp_path: Path) -> None:
    pwfile = tmp_path / "secrets" / "mosquitto.passwd"
    first = passwords(qingzhi("broker", "services", str(pwfile)))
    assert set(first) == {"ingest", "dashboard", "callcenter"}
    assert all(len(p) >= 24 and p.replace("-", "").replace("_", "").isalnum() for p in first.values())
    assert stat.S_IMODE(pwfile.stat().st_mode) == 0o600
    before = pwfile.read_bytes()

    again = qingzhi("broker", "services", str(pwfile))
    assert passwords(again) == {} and pwfile.read_bytes() == before and "kept ingest, dashboard, callcenter" in again.stderr

    devices = passwords(qingzhi("broker", "devices", str(pwfile), "--station", "st1", "--unit", "u1", "--unit", "u2"))
    assert set(devices) == {"st1/u1", "st1/u2"}
    stored = dict(line.split(":", 1) for line in pwfile.read_text().splitlines())
    assert list(stored) == ["ingest", "dashboard", "callcenter", "st1/u1", "st1/u2"]
    assert all(hash_matches(pw, stored[name]) for name, pw in {**first, **devices}.items())

    os.chmod(pwfile, 0o640)  # as an operator set it for the broker's user: a rewrite keeps it
    rotated = passwords(qingzhi("broker", "devices", str(pwfile), "--station", "st1", "--unit", "u1", "--rotate"))
    assert rotated.keys() == {"st1/u1"} and rotated["st1/u1"] != devices["st1/u1"]
    after = dict(line.split(":", 1) for line in pwfile.read_text().splitlines())
    assert hash_matches(rotated["st1/u1"], after["st1/u1"]) and after["st1/u2"] == stored["st1/u2"]
    assert stat.S_IMODE(pwfile.stat().st_mode) == 0o640

    removed = qingzhi("broker", "remove", str(pwfile), "st1/u2", "st9/u9")
    assert removed.returncode == 0 and "removed st1/u2; not there st9/u9" in removed.stderr
    assert "st1/u2" not in pwfile.read_text() and "st1/u1:" in pwfile.read_text()


def test_env_format_for_docker_compose(tmp_path: Path) -> None:
    out = qingzhi("broker", "services", str(tmp_path / "pw"), "ingest", "simulator", "--env")
    assert out.returncode == 0, out.stderr
    names = [line.split("=", 1)[0] for line in out.stdout.splitlines()]
    assert names == ["MQTT_INGEST_PASSWORD", "MQTT_SIMULATOR_PASSWORD"]


def test_passwords_from_stdin(tmp_path: Path) -> None:
    pwfile = tmp_path / "pw"
    given = "# from the secret store\ningest correct-horse-battery-staple\ndashboard another-long-password-1\n"
    out = qingzhi("broker", "services", str(pwfile), "ingest", "dashboard", "--password-stdin", stdin=given)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""  # nothing to show: the caller knows them
    stored = dict(line.split(":", 1) for line in pwfile.read_text().splitlines())
    assert hash_matches("correct-horse-battery-staple", stored["ingest"])
    same = qingzhi("broker", "services", str(pwfile), "ingest", "dashboard", "--password-stdin", stdin=given)
    assert same.returncode == 0 and pwfile.read_text() == "".join(f"{k}:{v}\n" for k, v in stored.items())

    before = pwfile.read_text()
    one_line_error(qingzhi("broker", "services", str(pwfile), "ingest", "--password-stdin",
                           stdin="ingest a-different-long-password\n"), "ingest has another password", "--rotate")
    one_line_error(qingzhi("broker", "services", str(pwfile), "ingest", "callcenter", "--password-stdin",
                           stdin="ingest correct-horse-battery-staple\n"), "no password for callcenter")
    one_line_error(qingzhi("broker", "services", str(pwfile), "ingest", "--password-stdin",
                           stdin="ingest correct-horse-battery-staple\nsimulator yet-another-password-2\n"),
                   "not asked for here: simulator")
    short = qingzhi("broker", "services", str(pwfile), "callcenter", "--password-stdin", stdin="callcenter short1\n")
    one_line_error(short, "shorter than 16")
    assert "short1" not in short.stderr  # a refused password is never echoed
    assert pwfile.read_text() == before


def test_bad_input_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    pwfile = tmp_path / "pw"
    passwords(qingzhi("broker", "services", str(pwfile)))
    before = pwfile.read_text()
    one_line_error(qingzhi("broker", "devices", str(pwfile), "--station", "st1", "--unit", "u 1"), "bad unit id")
    one_line_error(qingzhi("broker", "devices", str(pwfile), "--station", "../x", "--unit", "u1"), "bad station id")
    one_line_error(qingzhi("broker", "devices", str(pwfile), "--station", "st1",
                           env={k: v for k, v in os.environ.items() if k != "QZ_DATABASE_URL"}), "pass --unit")
    bad_name = qingzhi("broker", "services", str(pwfile), "admin")
    assert bad_name.returncode == 2 and "'admin' is not one of" in bad_name.stderr
    assert pwfile.read_text() == before

    acl = tmp_path / "acl"
    acl.write_text("user x\ntopic read #\n")  # the wrong file named as the password file
    one_line_error(qingzhi("broker", "services", str(acl)), "is not `name:hash`", "nothing was changed")
    assert acl.read_text() == "user x\ntopic read #\n"
    one_line_error(qingzhi("broker", "remove", str(tmp_path / "missing"), "ingest"), "no password file")


def test_rewrite_keeps_the_owner_the_broker_reads_it_as(tmp_path: Path) -> None:
    """(Run as root, as the test suite is: only root can give a file to another user.)"""
    pwfile = tmp_path / "pw"
    passwords(qingzhi("broker", "services", str(pwfile), "ingest"))
    os.chown(pwfile, 1883, 1883)  # the eclipse-mosquitto image's user
    passwords(qingzhi("broker", "services", str(pwfile), "dashboard"))
    assert (pwfile.stat().st_uid, pwfile.stat().st_gid) == (1883, 1883)


def test_devices_from_the_units_table(tmp_path: Path, database_url: str) -> None:
    async def seed(conn: asyncpg.Connection) -> None:
        for station in ("S1", "S2"):
            await seed_station(conn, station)
        for unit, station in (("C01", "S1"), ("C02", "S1"), ("D01", "S2")):
            await seed_unit(conn, unit, 30.27, 120.15, station=station)

    run_db(database_url, seed)
    pwfile = tmp_path / "pw"
    out = qingzhi("broker", "devices", str(pwfile), "--station", "S1", "--database-url", database_url)
    assert set(passwords(out)) == {"S1/C01", "S1/C02"}
    one_line_error(qingzhi("broker", "devices", str(pwfile), "--station", "S9", "--database-url", database_url),
                   "station 'S9' has no units")


def test_shipped_acl_is_the_generated_one_and_follows_the_settings(tmp_path: Path) -> None:
    shipped = (REPO / "deploy" / "mosquitto.acl").read_text()
    assert shipped == render_acl("qz/v1", "owntracks")
    out = qingzhi("broker", "acl")
    assert out.returncode == 0 and out.stdout == shipped

    target = tmp_path / "city.acl"
    env = {**os.environ, "QZ_TOPIC_ROOT": "city/v2", "QZ_OWNTRACKS_PREFIX": "phones"}
    first = qingzhi("broker", "acl", str(target), env=env)
    assert first.returncode == 0 and "written" in first.stderr
    text = target.read_text()
    assert "pattern write city/v2/%u/gps" in text and "pattern read city/v2/%u/cmd" in text
    assert "pattern write phones/%u" in text and "topic read phones/+/+" in text and "qz/v1" not in text
    assert "unchanged" in qingzhi("broker", "acl", str(target), env=env).stderr
    one_line_error(qingzhi("broker", "acl", "--owntracks-prefix", "qz/v1/ot"), "overlap")
