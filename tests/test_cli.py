"""The `qingzhi` command: help, and one-line errors instead of tracebacks."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def qingzhi(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run this checkout's `qingzhi` command."""
    return subprocess.run(
        [sys.executable, "-m", "qingzhi", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env
    )


def test_help_lists_every_subcommand() -> None:
    out = qingzhi("--help")
    assert out.returncode == 0
    for cmd in ("ingest", "worker", "simulate", "demo", "dashboard", "migrate", "status", "rejects", "import", "audit"):
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
