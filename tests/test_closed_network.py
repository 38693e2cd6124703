"""A closed network in real Chromium: the maps draw tiles from our own MBTiles file, and no page
(/login and every page) asks any other host for anything. Every request the
browser starts is read from Chrome's performance log (Network.requestWillBeSent), so a request the
CSP blocks counts too."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import dash
import pytest
from auth_helpers import browser_login
from mbtiles_helpers import solid_png, write_mbtiles, xyz_tiles_around
from selenium import webdriver
from selenium.webdriver.chrome.options import Options

from bench.fleet import seed_district
from bench.services import free_port
from dashboard.app import create_app
from db_helpers import with_conn as sql
from qingzhi.config import Settings

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"
LOCAL = {"127.0.0.1", "localhost"}
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1600,1000")
TILES_LOADED = """return Array.from(document.querySelectorAll('img.leaflet-tile-loaded'))
    .filter(function (i) { return i.naturalWidth === 256; }).map(function (i) { return i.src; });"""


@pytest.fixture
def chrome() -> Iterator[webdriver.Chrome]:
    """Debian's Chromium with its network requests logged (the performance log)."""
    options = Options()
    options.binary_location = os.environ.get("QZ_CHROMIUM", "/usr/bin/chromium")
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options)
    yield driver
    driver.quit()


@pytest.fixture
def app(settings: Settings, tmp_path: Path) -> Iterator:
    sql(settings.database_url, lambda c: seed_district(c, units=10, stations=1, incidents=3))
    lat, lon = settings.center_latlon
    tiles = {a: solid_png((232, 228, 216), edge=(150, 150, 175)) for a in xyz_tiles_around(lat, lon, range(10, 17), 5)}
    path = write_mbtiles(tmp_path / "district.mbtiles", tiles)
    got = create_app(settings.model_copy(update={"tiles_mbtiles": path}))
    yield got
    got.server.extensions["qingzhi"].db.close()


def requests_made(driver: webdriver.Chrome) -> list[str]:
    """URLs of every request the browser started since the log was last read."""
    out = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            out.append(message["params"]["request"]["url"])
    return out


def outside(urls: list[str]) -> list[str]:
    """The URLs that leave this machine (data: and blob: never do)."""
    return [u for u in urls if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).hostname not in LOCAL]


def wait_for_tiles(driver: webdriver.Chrome, timeout: float = 25) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = driver.execute_script(TILES_LOADED)
        if len(got) >= 4:
            return got
        time.sleep(0.3)
    raise AssertionError(f"no tiles drawn on {driver.current_url}")


def test_every_page_stays_on_this_machine_and_maps_show_our_tiles(dash_thread_server, chrome, app) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    dash_thread_server(app, port=port)
    base = f"http://127.0.0.1:{port}"
    chrome.get(base + "/login")
    time.sleep(1)
    seen = {"/login": requests_made(chrome)}
    browser_login(chrome, base, app.server.extensions["qingzhi"].settings.database_url, "admin")
    requests_made(chrome)  # the login itself was seen above
    pages = sorted(page["path"] for page in dash.page_registry.values())   # every page, new ones too
    assert {"/", "/wall", "/dispatch", "/analysis", "/audit"} <= set(pages)
    for path in pages:
        chrome.get(base + path)
        if path in ("/", "/wall", "/dispatch", "/analysis"):
            drawn = wait_for_tiles(chrome)
            assert all(urlsplit(u).path.startswith("/tiles/1") and urlsplit(u).hostname == "127.0.0.1" for u in drawn)
        time.sleep(1.2)  # the pages' first polls and lazy loads
        chrome.save_screenshot(str(ARTIFACTS / f"closed_network{path.replace('/', '_') or '_live'}.png"))
        seen[path] = requests_made(chrome)
    assert all(seen.values()), {p: len(u) for p, u in seen.items()}    # the log did record each page
    assert any("/tiles/" in u for u in seen["/wall"])
    assert {p: outside(u) for p, u in seen.items()} == {p: [] for p in seen}
