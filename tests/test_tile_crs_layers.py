"""QZ_TILE_CRS reaches every map layer: each page with a map (/, /wall, /dispatch, /analysis, /playback, /duty) is drawn in real Chromium with WGS-84 tiles and
again with GCJ-02 tiles, every position of every Leaflet layer is read back from the page, and the
second set must be the first converted (so a new layer that skips dashboard/maps.py fails here).
A click on the map comes back to WGS-84. The units' JSON endpoint is checked the same way."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from auth_helpers import login_client, start_logged_in
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from bench.fleet import move_units, seed_district
from bench.services import free_port
from dashboard import ids, maps
from dashboard.app import create_app
from dashboard.i18n import t
from dashboard.live.queries import UNIT_FIELDS
from db_helpers import with_conn as sql
from qingzhi.config import Settings
from qingzhi.core.map_datum import point_from_tiles, to_tiles

ARTIFACTS = Path(__file__).parent / "artifacts"
# Every position Leaflet holds, by map and layer kind. Unit markers and their clusters are drawn by
# assets/js from the units endpoint (checked below, and clusters are pixel groupings); groups only
# hold other layers; the tile layer has no position.
WALK = """var out = [];
function add(kind, p) { out.push([kind, p.lat, p.lng]); }
function flat(kind, v) { if (Array.isArray(v)) { v.forEach(function (w) { flat(kind, w); }); } else { add(kind, v); } }
window.qzRuntime.maps.forEach(function (m, id) {
  m.eachLayer(function (l) {
    if (l.qzUnit || l.qzCluster || l instanceof L.TileLayer || l instanceof L.LayerGroup) { return; }
    var kind = id + ':' + (l instanceof L.Tooltip ? 'tooltip' : l instanceof L.ImageOverlay ? 'image'
                           : l.feature ? 'feature' : 'marker');
    if (l instanceof L.ImageOverlay && l._url === 'data:,') { return; }  // the empty placeholder
    if (l instanceof L.ImageOverlay) { var b = l.getBounds(); add(kind, b.getSouthWest()); add(kind, b.getNorthEast()); }
    else if (l.getLatLngs) { flat(kind, l.getLatLngs()); }
    else if (l.getLatLng && l.getLatLng()) { add(kind, l.getLatLng()); }
  });
});
return out;"""


TRAIL_DRAWN = """var n = 0; window.qzRuntime.maps.forEach(function (m) { m.eachLayer(function (l) {
    if (l instanceof L.Polyline && !(l instanceof L.Polygon)) { n = Math.max(n, l.getLatLngs().length); } }); });
    return n >= 3;"""


@pytest.fixture
def app(settings: Settings) -> Iterator:
    units = sql(settings.database_url, lambda c: seed_district(c, units=10, stations=1, incidents=3))
    rng = random.Random(16)
    for _ in range(3):  # a trail for the first unit
        sql(settings.database_url, lambda c: move_units(c, units[:1], rng=rng, metres=80))
    got = create_app(settings)
    got.trail_unit = units[0]
    yield got
    got.server.extensions["qingzhi"].db.close()


def use_crs(app, crs: str) -> None:  # noqa: ANN001
    """Switch the running app's tiles (every payload reads the settings per request)."""
    context = app.server.extensions["qingzhi"]
    context.settings = context.settings.model_copy(update={"tile_crs": crs})


def by_kind(points: list[list]) -> dict[str, np.ndarray]:
    out: dict[str, list] = {}
    for kind, lat, lon in points:
        out.setdefault(kind, []).append((lat, lon))
    return {k: np.array(v) for k, v in out.items()}


def settled(dash_duo, want: set[str], timeout: float = 25) -> list[list]:  # noqa: ANN001
    """The page's positions once the wanted kinds are drawn and two reads agree."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        got = dash_duo.driver.execute_script(WALK)
        if want <= {p[0] for p in got} and got == last:
            return got
        last = got
        time.sleep(0.7)
    raise AssertionError(f"not drawn: {want - {p[0] for p in (last or [])}}")


def assert_converted(wgs: list[list], gcj: list[list]) -> None:
    """Same layers, same number of positions, each GCJ-02 one the conversion of a WGS-84 one (< 1 m)."""
    a, b = by_kind(wgs), by_kind(gcj)
    assert a.keys() == b.keys() and all(len(a[k]) == len(b[k]) for k in a), ({k: len(v) for k, v in a.items()},
                                                                           {k: len(v) for k, v in b.items()})
    for kind, pts in a.items():
        tlat, tlon = to_tiles(pts[:, 0], pts[:, 1], "gcj02")
        drawn = b[kind]
        d = np.hypot((drawn[:, None, 0] - tlat[None, :]) * 110_574, (drawn[:, None, 1] - tlon[None, :]) * 96_000)
        assert d.min(axis=1).max() < 1.0 and d.min(axis=0).max() < 1.0, kind
        raw = np.hypot((drawn[:, 0] - pts[:, 0]) * 110_574, (drawn[:, 1] - pts[:, 1]) * 96_000)
        assert np.median(raw) > 100, kind   # really moved (Hangzhou: ~500 m)


def walk_page(dash_duo, app, path: str, want: set[str], prepare=None) -> tuple[list, list]:  # noqa: ANN001
    drawn = []
    for crs in ("wgs84", "gcj02"):
        use_crs(app, crs)
        dash_duo.driver.get(dash_duo.server_url + path)
        if prepare:
            prepare()
        drawn.append(settled(dash_duo, want))
    dash_duo.driver.save_screenshot(str(ARTIFACTS / f"tile_crs_gcj02{path.replace('/', '_')}.png"))
    return drawn[0], drawn[1]


def click_new_incident_place(dash_duo, app) -> None:  # noqa: ANN001
    """On /dispatch with GCJ-02 tiles: a click on the map is kept (and shown) in WGS-84."""
    use_crs(app, "gcj02")
    dash_duo.driver.get(dash_duo.server_url + "/dispatch")
    dash_duo.wait_for_element(f"#{ids.DISPATCH_MAP}", timeout=20)
    new_tab = t("dispatch.tab.new", app.server.extensions["qingzhi"].settings.language)
    dash_duo.driver.find_element(By.XPATH, f"//*[@id='{ids.DISPATCH_TABS}']//*[normalize-space(text())='{new_tab}']").click()
    time.sleep(1)
    # a click on the map where the tiles show the centre (Leaflet's own click event, as a mouse makes it)
    clicked = dash_duo.driver.execute_script(
        f"var m = window.qzRuntime.maps.get('{ids.DISPATCH_MAP}'); var c = m.getCenter();"
        "m.fire('click', {latlng: c, layerPoint: m.latLngToLayerPoint(c), containerPoint: m.latLngToContainerPoint(c)});"
        "return [c.lat, c.lng];")
    dash_duo.wait_for_contains_text(f"#{ids.DISPATCH_FORM_WHERE}", ",", timeout=15)
    pin = dash_duo.driver.execute_script(
        f"var m = window.qzRuntime.maps.get('{ids.DISPATCH_MAP}'); var ll = null;"
        "m.eachLayer(function (l) { if (l instanceof L.CircleMarker && !l.feature) { ll = l.getLatLng(); } });"
        "return ll && [ll.lat, ll.lng];")
    assert pin is not None and abs(pin[0] - clicked[0]) < 1e-6 and abs(pin[1] - clicked[1]) < 1e-6  # where clicked
    lat, lon = (float(v) for v in dash_duo.find_element(f"#{ids.DISPATCH_FORM_WHERE}").text.split(":")[-1].split(","))
    want = point_from_tiles(*clicked, "gcj02")
    assert abs(lat - want[0]) < 2e-5 and abs(lon - want[1]) < 2e-5      # the form shows (and sends) WGS-84
    assert abs(lat - clicked[0]) + abs(lon - clicked[1]) > 0.002          # not the tile position


def test_every_layer_of_every_map_is_drawn_on_gcj02_tiles_and_clicks_come_back(dash_duo, app) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    start_logged_in(dash_duo, app, "admin", port=free_port())
    live, dispatch, analysis, duty = ids.LIVE_MAP, ids.DISPATCH_MAP, ids.AN_MAP, ids.DUTY_MAP
    every_map = {m.map_id for m in vars(maps).values() if isinstance(m, maps.MapConfig)}
    assert every_map == {live, dispatch, analysis, ids.PB_MAP, duty}   # a new map: walk its page below too

    def select_unit_with_trail() -> None:  # found by call sign: its 30-minute trail is drawn
        dash_duo.wait_for_element(f"#{ids.LIVE_SEARCH}", timeout=20).send_keys(app.trail_unit + "\n")
        deadline = time.monotonic() + 20
        while not dash_duo.driver.execute_script(TRAIL_DRAWN) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert dash_duo.driver.execute_script(TRAIL_DRAWN), "no trail drawn"

    assert_converted(*walk_page(dash_duo, app, "/", {f"{live}:feature", f"{live}:tooltip"}, select_unit_with_trail))
    assert_converted(*walk_page(dash_duo, app, "/wall", {f"{live}:feature", f"{live}:tooltip"}))

    def select_first_incident() -> None:
        dash_duo.wait_for_element(".dp-queue .dp-card", timeout=20).click()

    assert_converted(*walk_page(dash_duo, app, "/dispatch", {f"{dispatch}:feature", f"{dispatch}:marker"},
                                select_first_incident))

    def show_density() -> None:
        dash_duo.wait_for_element(f"#{ids.AN_LAYERS} input[value='kde']", timeout=20).click()

    assert_converted(*walk_page(dash_duo, app, "/analysis", {f"{analysis}:feature", f"{analysis}:image"}, show_density))

    # the last two local hours (the seeded incidents are up to an hour old; past midnight the window
    # starts on the day before and runs over midnight)
    now = datetime.now(ZoneInfo(app.server.extensions["qingzhi"].settings.timezone))
    since, until = now - timedelta(hours=2), now + timedelta(minutes=5)

    def load_playback() -> None:  # the units' fixes and the incidents of the window
        for box, value in ((ids.PB_FROM, f"{since:%H:%M}"), (ids.PB_TO, f"{until:%H:%M}")):
            dash_duo.clear_input(dash_duo.wait_for_element(f"#{box}", timeout=20))
            dash_duo.find_element(f"#{box}").send_keys(value)
        dash_duo.find_element(f"#{ids.PB_LOAD}").click()
        dash_duo.wait_for_contains_text(f"#{ids.PB_MSG}", "3", timeout=20)  # the three incidents (and the units)
        handle = dash_duo.find_element(f"#{ids.PB_SLIDER} [role=slider]")  # to the window's end: every unit has a fix
        handle.send_keys(Keys.END)

    assert_converted(*walk_page(dash_duo, app, f"/playback?day={since.date()}", {f"{ids.PB_MAP}:feature"},
                                load_playback))

    def raise_a_zone() -> None:   # a zone at level I (needs 2 residential): the plan draws its moves
        sql(app.server.extensions["qingzhi"].settings.database_url, lambda c: c.execute(
            "UPDATE zones SET alert_level = 1 WHERE id = (SELECT min(id) FROM zones)"))
        dash_duo.wait_for_element(".duty-move", timeout=20)

    assert_converted(*walk_page(dash_duo, app, "/duty", {f"{duty}:feature"}, raise_a_zone))
    click_new_incident_place(dash_duo, app)


def test_units_endpoint_sends_positions_on_the_tiles(app) -> None:  # noqa: ANN001
    client = login_client(app, "admin")
    lat_at, lon_at = UNIT_FIELDS.index("lat"), UNIT_FIELDS.index("lon")
    wgs = {r[0]: r for r in client.get("/api/live/units").get_json()["rows"]}
    use_crs(app, "bd09")
    bd = {r[0]: r for r in client.get("/api/live/units").get_json()["rows"]}
    assert wgs.keys() == bd.keys() and len(wgs) == 10
    for unit, row in wgs.items():
        want = to_tiles(row[lat_at], row[lon_at], "bd09")
        assert abs(bd[unit][lat_at] - want[0][0]) < 1e-6 and abs(bd[unit][lon_at] - want[1][0]) < 1e-6
        assert bd[unit][:lat_at] == row[:lat_at] and bd[unit][lon_at + 1:] == row[lon_at + 1:]
