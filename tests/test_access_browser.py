"""Text from devices and forms stays text in real Chromium: an address of `<img src=x onerror=…>`
on every page that shows one (the live map's tooltips, the wall, the dispatch queue and detail)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from auth_helpers import start_logged_in

from bench.fleet import seed_district
from bench.services import free_port
from dashboard.app import create_app
from db_helpers import with_conn as sql
from qingzhi.config import Settings

pytestmark = pytest.mark.browser
HOSTILE = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'
TOOLTIPS = """var out = []; window.qzRuntime.maps.forEach(function (m) { m.eachLayer(function (l) {
    if (l.getTooltip && l.getTooltip() && l.feature && l.feature.properties.address !== undefined) {
        l.openTooltip(); out.push(l.getTooltip().getElement().textContent); } }); }); return out;"""


@pytest.fixture
def app(settings: Settings) -> Iterator:
    sql(settings.database_url, lambda c: seed_district(c, units=10, stations=1, incidents=3))
    sql(settings.database_url, lambda c: c.execute("UPDATE incidents SET address = $1", HOSTILE))
    got = create_app(settings)
    yield got
    got.server.extensions["qingzhi"].db.close()


def wait_for(dash_duo, script: str, timeout: float = 20):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = dash_duo.driver.execute_script(script)
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"nothing from {script[:60]!r}")


def test_hostile_address_is_text_on_every_page(dash_duo, app) -> None:  # noqa: ANN001
    start_logged_in(dash_duo, app, "commander", port=free_port())
    for path in ("/", "/wall"):
        dash_duo.driver.get(dash_duo.server_url + path)
        tips = wait_for(dash_duo, TOOLTIPS)
        assert len(tips) == 3 and all(HOSTILE in tip for tip in tips), tips
    dash_duo.driver.get(dash_duo.server_url + "/dispatch")
    dash_duo.wait_for_contains_text(".dp-queue", "<img src=x", timeout=20)
    dash_duo.find_elements(".dp-queue .dp-card")[0].click()
    dash_duo.wait_for_contains_text("#dispatch-head", "<img src=x", timeout=20)
    time.sleep(1)
    assert dash_duo.driver.execute_script("return window.__xss") is None
    assert not dash_duo.driver.find_elements("css selector", "img[src='x']")
