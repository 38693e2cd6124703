"""Two start-up rules: no service without a caller key (the demo makes its own, per data directory),
and files named in settings come only from the data directory (QZ_DATA_DIR)."""

from __future__ import annotations

import importlib
import os
import stat
import sys
from pathlib import Path

import pytest
from dispatch_fixtures import run_db
from test_cli import qingzhi

from qingzhi.config import load_settings
from qingzhi.core.access import ROLES
from qingzhi.core.actor import Actor
from qingzhi.core.dispatch_config import load_config, save_setting
from qingzhi.datafiles import data_file
from qingzhi.demo import demo_caller_key
from qingzhi.demo_accounts import FILE, _passwords
from qingzhi.errors import QingzhiError

NO_KEY = {k: v for k, v in os.environ.items() if k != "QZ_CALLER_KEY"}
UNREACHABLE = {"QZ_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none", "QZ_MQTT_URL": "mqtt://127.0.0.1:1"}


@pytest.mark.parametrize("command", [
    ["ingest"], ["dashboard"], ["simulate", "--units", "1"], ["simulate", "--history", "1"],
    ["import", "incidents", __file__],
])
def test_services_refuse_to_start_without_a_caller_key(command: list[str]) -> None:
    out = qingzhi(*command, env={**NO_KEY, **UNREACHABLE})
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("qingzhi: error: no caller key: set QZ_CALLER_KEY")
    assert len(out.stderr.strip().splitlines()) == 1  # before it reaches the (unreachable) database or broker


def test_a_short_caller_key_is_refused() -> None:
    with pytest.raises(QingzhiError, match=r"caller_key \(QZ_CALLER_KEY.*at least 16"):
        load_settings(caller_key="change-me")


def test_the_wsgi_entry_point_refuses_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QZ_CALLER_KEY")
    monkeypatch.setenv("QZ_DATABASE_URL", UNREACHABLE["QZ_DATABASE_URL"])
    sys.modules.pop("dashboard.wsgi", None)
    with pytest.raises(QingzhiError, match="no caller key"):
        importlib.import_module("dashboard.wsgi")
    assert "dashboard.wsgi" not in sys.modules


def test_the_demo_keeps_its_passwords_for_the_owner_only(tmp_path: Path) -> None:
    made = _passwords(tmp_path)
    path = tmp_path / FILE
    assert sorted(made) == sorted(ROLES) and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _passwords(tmp_path) == made  # a second run logs in with the same ones
    path.write_text("admin x\n")  # damaged (a role missing): new ones, the whole file
    again = _passwords(tmp_path)
    assert again != made and path.read_text(encoding="utf-8").count("\n") == len(ROLES)
    assert [p.name for p in tmp_path.iterdir()] == [FILE]


def test_the_demo_makes_one_key_per_data_directory(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    first = demo_caller_key(tmp_path / "a")
    assert len(first) == 64 and stat.S_IMODE((tmp_path / "a" / "caller.key").stat().st_mode) == 0o600
    assert demo_caller_key(tmp_path / "a") == first  # kept: callers' hashes stay comparable across runs
    (tmp_path / "b").mkdir()
    assert demo_caller_key(tmp_path / "b") != first
    (tmp_path / "b" / "caller.key").write_text("short\n")
    with pytest.raises(QingzhiError, match="is damaged"):
        demo_caller_key(tmp_path / "b")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory with a road file, a sub-folder, and a secret beside it (outside)."""
    (tmp_path / "data" / "maps").mkdir(parents=True)
    (tmp_path / "data" / "roads.geojson").write_text("{}")
    (tmp_path / "data" / "maps" / "city.geojson").write_text("{}")
    (tmp_path / "secret").write_text("not for you")
    (tmp_path / "data" / "link.geojson").symlink_to(tmp_path / "secret")
    return tmp_path / "data"


def test_files_are_read_only_from_the_data_directory(data_dir: Path) -> None:
    root = str(data_dir)
    assert data_file(root, "roads.geojson") == data_dir / "roads.geojson"
    assert data_file(root, "maps/city.geojson") == data_dir / "maps" / "city.geojson"
    assert data_file(root, "maps/../roads.geojson") == data_dir / "roads.geojson"  # stays inside: fine
    assert data_file(root, str(data_dir / "roads.geojson")) == data_dir / "roads.geojson"  # absolute, inside
    for name in ("../secret", "maps/../../secret", str(data_dir.parent / "secret"), "/etc/passwd", "link.geojson"):
        with pytest.raises(QingzhiError, match="outside the data directory"):
            data_file(root, name)
    with pytest.raises(QingzhiError, match="no file 'maps'"):
        data_file(root, "maps")
    with pytest.raises(QingzhiError, match="no file 'nope.geojson'"):
        data_file(root, "nope.geojson")
    with pytest.raises(QingzhiError, match=r"no data directory is configured \(QZ_DATA_DIR\)"):
        data_file(None, "roads.geojson")


def test_the_roads_setting_accepts_only_files_in_the_data_directory(database_url: str, data_dir: Path) -> None:
    def save(name: str | None, folder: Path | None = data_dir) -> None:
        run_db(database_url, lambda conn: save_setting(Actor("lead", role="admin"), conn, "roads", name,
                                                       data_dir=str(folder) if folder else None))

    save("roads.geojson")
    assert run_db(database_url, load_config).roads == "roads.geojson"
    for name, why in (("/etc/passwd", "outside the data directory"), ("../secret", "outside the data directory"),
                      ("link.geojson", "outside the data directory"), ("missing.geojson", "no file")):
        with pytest.raises(QingzhiError, match=f"bad dispatch setting roads: .*{why}"):
            save(name)
    with pytest.raises(QingzhiError, match="no data directory is configured"):
        save("roads.geojson", None)
    assert run_db(database_url, load_config).roads == "roads.geojson"  # nothing refused was stored
    save(None, None)  # back to straight lines: no file, no directory needed
    assert run_db(database_url, load_config).roads is None
