"""Tiles from a local MBTiles file (dashboard/tiles.py): served at /tiles/ behind the login, the maps'
tile URL and the CSP pointing there, TMS rows flipped, and hostile addresses refused clearly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_helpers import login_client
from mbtiles_helpers import solid_png, write_mbtiles

from dashboard.app import create_app
from dashboard.mbtiles import open_tiles
from qingzhi.config import Settings, load_settings
from qingzhi.demo import child_env
from qingzhi.errors import QingzhiError

NORTH, SOUTH = solid_png((200, 30, 30), 8), solid_png((30, 30, 200), 8)


@pytest.fixture
def mbtiles(tmp_path: Path) -> Path:
    # at zoom 1, XYZ y=0 is the northern row; MBTiles stores it as TMS row 1
    return write_mbtiles(tmp_path / "city.mbtiles", {(1, 0, 0): NORTH, (1, 0, 1): SOUTH, (0, 0, 0): SOUTH})


@pytest.fixture
def app(settings: Settings, mbtiles: Path) -> Iterator:
    got = create_app(settings.model_copy(update={"tiles_mbtiles": mbtiles}))
    yield got
    got.server.extensions["qingzhi"].db.close()


def test_tiles_served_with_the_rows_flipped_and_the_maps_pointed_here(app) -> None:  # noqa: ANN001
    used = app.server.extensions["qingzhi"].settings
    assert used.tile_url == "/tiles/{z}/{x}/{y}.png" and used.tile_attribution == "© 测试底图 local test tiles"
    client = login_client(app, "wall")
    north = client.get("/tiles/1/0/0.png")
    assert north.status_code == 200 and north.mimetype == "image/png" and north.data == NORTH
    assert client.get("/tiles/1/0/1.png").data == SOUTH
    assert "private" in north.headers["Cache-Control"]
    csp = north.headers["Content-Security-Policy"]
    img = next(d for d in csp.split(";") if d.strip().startswith("img-src"))
    assert "http" not in img and "'self'" in img  # no tile host: images from here (and in-page data:/blob:)
    # nothing else names a host; camera streams (connect-src, media-src) follow QZ_STREAM_HOSTS
    assert "http" not in ";".join(d for d in csp.split(";") if not d.strip().startswith(("connect-src", "media-src")))


def test_tiles_need_a_login_and_missing_ones_are_404(app) -> None:  # noqa: ANN001
    anonymous = app.server.test_client()
    assert anonymous.get("/tiles/1/0/0.png").status_code == 401   # no redirect to the login form for an image
    client = login_client(app, "wall")
    assert client.get("/tiles/1/1/1.png").status_code == 404
    assert client.get("/tiles/12/3000/1500.png").status_code == 404
    assert client.get("/tiles/1/0/0.jpg").status_code == 404       # the file holds PNG tiles


HOSTILE = [  # out of range, not numbers, odd shapes: 400 with the reason
    "/tiles/25/0/0.png", "/tiles/1/2/0.png", "/tiles/1/0/2.png", "/tiles/a/0/0.png", "/tiles/1/b/0.png",
    "/tiles/1/0/c.png", "/tiles/-1/0/0.png", "/tiles/1/0/0", "/tiles/1/0/0.png.png", "/tiles/999999999/0/0.png",
    "/tiles/1/0/..png", "/tiles/1/0/%2e%2e.png", "/tiles/1/0/0.PNG ", "/tiles/1e3/0/0.png", "/tiles/1/0x0/0.png",
    "/tiles/1/0/0/0.png", "/tiles/1/0/", "/tiles/", "/tiles/1/0/..%2F..%2F..%2Fetc%2Fpasswd",
    "/tiles/%2e%2e/%2e%2e/etc/passwd", "/tiles/1/0/0.png%00.txt",
]


def test_hostile_tile_addresses_are_refused(app) -> None:  # noqa: ANN001
    client = login_client(app, "wall")
    for path in HOSTILE:
        got = client.get(path)
        assert got.status_code == 400 and b"tile" in got.data and b"root:" not in got.data, path
    # `..` is resolved by the client before it reaches us; what arrives is no tile and no file either
    got = client.get("/tiles/../../etc/passwd")
    assert b"root:" not in got.data and got.mimetype != "image/png"


def test_bad_files_and_settings_are_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(QingzhiError, match="no such file"):
        open_tiles(tmp_path / "missing.mbtiles")
    (tmp_path / "notes.mbtiles").write_text("not a database")
    with pytest.raises(QingzhiError, match="not an MBTiles file"):
        open_tiles(tmp_path / "notes.mbtiles")
    vector = write_mbtiles(tmp_path / "vector.mbtiles", {(0, 0, 0): b"\x1a\x00"}, fmt="pbf")
    with pytest.raises(QingzhiError, match="vector"):
        open_tiles(vector)
    with pytest.raises(QingzhiError, match="both set"):
        load_settings(tile_url="https://tiles.example/{z}/{x}/{y}.png", tiles_mbtiles=str(vector))
    jpg = open_tiles(write_mbtiles(tmp_path / "photo.mbtiles", {}, fmt="jpg", attribution=None))
    assert jpg.url == "/tiles/{z}/{x}/{y}.jpg" and jpg.attribution is None and jpg.tile(0, 0, 0) is None


def test_dashboard_command_refuses_bad_tile_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `qingzhi dashboard` stops on before it serves (main() prints a QingzhiError as one line)."""
    from qingzhi.cli import cli

    monkeypatch.setenv("QZ_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    monkeypatch.setenv("QZ_CALLER_KEY", "k" * 20)
    monkeypatch.delenv("QZ_TILE_URL", raising=False)
    for args, says in ((["--tiles-mbtiles", str(tmp_path / "none.mbtiles")], "no such file"),
                       (["--tile-crs", "mars"], "tile_crs"),
                       (["--tiles-mbtiles", "x.mbtiles", "--tile-url", "https://t.example/{z}/{x}/{y}.png"], "both set")):
        with pytest.raises(QingzhiError, match=says):
            cli.main(["dashboard", *args], standalone_mode=False)


def test_the_demo_hands_the_tiles_file_to_its_children_as_the_one_tile_source(mbtiles: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`QZ_TILES_MBTILES=… qingzhi demo` once stopped at start-up: the default tile URL was handed to the
    dashboard beside the file, which it refuses as two tile sources."""
    monkeypatch.setenv("QZ_TILES_MBTILES", str(mbtiles))
    env = child_env(load_settings(database_url="postgresql://demo@127.0.0.1:5432/qingzhi"))
    assert env["QZ_TILES_MBTILES"] == str(mbtiles) and "QZ_TILE_URL" not in env
    assert env["QZ_DATABASE_URL"] == "postgresql://demo@127.0.0.1:5432/qingzhi" and "QZ_MQTT_URL" not in env
    for name, value in env.items():
        if name.startswith("QZ_"):
            monkeypatch.setenv(name, value)
    assert load_settings().tiles_mbtiles == mbtiles      # the child's own settings load
