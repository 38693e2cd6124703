"""The `qingzhi` command: help, and one-line errors instead of tracebacks."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from qingzhi.cli import cli
from qingzhi.errors import QingzhiError

ROOT = Path(__file__).resolve().parent.parent


def qingzhi(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run this checkout's `qingzhi` command (stdin: text fed to it)."""
    return subprocess.run(
        [sys.executable, "-m", "qingzhi", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env,
        input=stdin,
    )


def test_help_lists_every_subcommand() -> None:
    out = qingzhi("--help")
    assert out.returncode == 0
    for cmd in ("ingest", "worker", "simulate", "demo", "dashboard", "migrate", "status", "rejects", "import", "audit",
                "broker"):
        assert cmd in out.stdout


def test_unreachable_database_is_one_line_not_a_traceback() -> None:
    out = qingzhi("migrate", "--database-url", "postgresql://postgres@127.0.0.1:1/postgres")
    assert out.returncode == 2
    assert out.stderr.startswith("qingzhi: error: cannot reach database")
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_missing_setting_is_named() -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("QZ_")}
    out = qingzhi("migrate", env=env)
    assert out.returncode == 2
    assert "QZ_DATABASE_URL" in out.stderr and "--database-url" in out.stderr


def test_migrate_command_twice(database_url: str) -> None:
    first = qingzhi("migrate", "--database-url", database_url)
    assert first.returncode == 0, first.stderr
    assert "up to date" in first.stdout


def test_a_database_without_the_schema_is_named_not_a_traceback() -> None:
    """Pointed at a database that is not qingzhi's (a typo in the URL, or not migrated): one line that says
    what to do, exit status 2."""
    import asyncio
    import os

    from conftest import _admin, db_url
    name = f"qz_bare_{os.getpid()}"
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name}"))
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    try:
        for args in (("audit",), ("status",), ("rejects",)):
            got = qingzhi(*args, "--database-url", db_url(name))
            assert got.returncode == 2 and "Traceback" not in got.stderr, (args, got.stderr)
            assert "lacks part of qingzhi's schema" in got.stderr and "qingzhi migrate" in got.stderr, got.stderr
    finally:
        asyncio.run(_admin(f"DROP DATABASE {name}"))


@pytest.mark.parametrize("args", [
    ("rejects", "--limit", "-5"), ("rejects", "--limit", "99999999999999999999"),
    ("audit", "--limit", "-1"), ("audit", "--limit", "10001"),
    ("dashboard", "--port", "99999"), ("dashboard", "--port", "-1"), ("demo", "--port", "0"),
    ("demo", "--units", "-3"), ("demo", "--history", "-1"), ("simulate", "--units", "20001"),
    ("simulate", "--seed", "-1"), ("simulate", "--rate", "nan"), ("simulate", "--speedup", "NaN"),
    ("simulate", "--incidents-per-hour", "inf"), ("worker", "--every", "nan"),
])
def test_numbers_out_of_range_are_usage_errors(args: tuple[str, ...]) -> None:
    """Refused while the options are read: nothing is started, nothing touched (the database URL is
    unreachable on purpose)."""
    got = CliRunner().invoke(cli, [*args, "--database-url", "postgresql://x@127.0.0.1:1/x"])
    assert got.exit_code == 2 and f"Invalid value for '{args[1]}'" in got.output, got.output


@pytest.mark.parametrize(("url", "message"), [
    ("", "no database_url: set QZ_DATABASE_URL"), ("  ", "no database_url"),
    ("garbage", "bad setting database_url"), ("postgresql://postgres@127.0.0.1:99999/x", "bad database URL"),
    ("postgresql://postgres@127.0.0.1:5432/x?sslmode=bogus", "bad database URL"),
])
def test_a_bad_database_url_is_one_line_and_no_default_database_is_used(url: str, message: str) -> None:
    """An empty URL once let asyncpg fall back to its defaults and migrate a database nobody named."""
    out = qingzhi("migrate", "--database-url", url)
    assert out.returncode == 2 and out.stderr.startswith(f"qingzhi: error: {message}"), out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("args", "message"), [
    (("search", "x", "--from", "0001-01-01"), "--from is outside the years 1900–9998"),
    (("search", "x", "--to", "9999-12-31T23:59:59-14:00"), "--to is outside the years"),
    (("rejects", "--since", "0001-01-01T00:00:00+14:00"), "--since is outside the years"),
    (("analysis", "hotspots", "--to", "9999-12-31"), "--to is outside the years"),
    (("briefing", "--day", "0001-01-01", "--out", "x.pdf"), "--day is outside the years"),
    (("briefing", "--day", "9999-12-31", "--week", "--out", "x.pdf"), "--day is outside the years"),
    (("briefing", "--out", "x.pdf"), "--day: give a date like 2026-11-21"),
])
def test_dates_beyond_the_years_are_one_line(database_url: str, args: tuple[str, ...], message: str) -> None:
    got = CliRunner().invoke(cli, [*args[:2], "--database-url", database_url, *args[2:]]
                             if args[0] == "analysis" else [args[0], "--database-url", database_url, *args[1:]])
    assert isinstance(got.exception, QingzhiError) and message in str(got.exception), got.output


def test_the_dashboard_binds_before_it_prints_its_url(database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for host in ("127.0.0.1", "", "no-such-host.invalid"):
            out = qingzhi("dashboard", "--database-url", database_url, "--host", host, "--port", str(port))
            assert out.returncode == 2 and out.stderr.startswith(f"qingzhi: error: cannot serve on {host}:{port}")
            assert "dashboard on http" not in out.stdout and "Traceback" not in out.stderr


@pytest.mark.parametrize("args", [("audit", "--export", "{file}/x.csv"), ("audit", "--export", "/proc/qz-x.csv"),
                                  ("briefing", "--day", "2026-11-21", "--out", "{file}/x.zip"),
                                  ("briefing", "--day", "2026-11-21", "--out", "/proc/qz-x.zip")])
def test_a_file_that_cannot_be_written_is_one_line(database_url: str, tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "file").write_text("not a folder")
    target = args[-1].format(file=tmp_path / "file")
    got = CliRunner().invoke(cli, [args[0], "--database-url", database_url, *args[1:-1], target])
    assert isinstance(got.exception, QingzhiError) and str(got.exception).startswith(f"cannot write {target}: ")
    assert (tmp_path / "file").read_text() == "not a folder" and not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize(("args", "message"), [
    (("simulate", "--history", "1", "--roads", "{deep}"), "cannot read road network"),
    (("briefing", "--day", "2026-11-21", "--out", "x.zip", "--briefing-config", "{deep}"),
     "not JSON (nested too deep)"),
])
def test_json_nested_too_deep_is_one_line(database_url: str, tmp_path: Path, args: tuple[str, ...],
                                          message: str) -> None:
    """Deeper than json's recursion limit: once a RecursionError traceback."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    got = CliRunner().invoke(cli, [args[0], "--database-url", database_url,
                                   *(a.format(deep=deep) for a in args[1:])])
    assert isinstance(got.exception, QingzhiError) and message in str(got.exception), got.output


def test_demo_with_a_data_dir_it_cannot_make_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    got = CliRunner().invoke(cli, ["demo", "--data-dir", str(tmp_path / "file" / "sub"), "--port", "1"])
    assert isinstance(got.exception, QingzhiError)
    assert str(got.exception).startswith(f"cannot use {tmp_path / 'file' / 'sub'} as the data directory")
