"""The live map and wall pages in real headless Chromium (dash_duo), and their server callbacks.

One Dash app for the whole session (callbacks register globally) on a database of its own;
each test empties it and writes rows the way the ingest would. Screenshots go to
tests/artifacts/ (live_page*.png, wall_*.png).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from auth_helpers import browser_login, make_user, session_cookie, severe_logs, start_logged_in
from bench.fleet import HANGZHOU, move_units, seed_district
from bench.services import dashboard_process, free_port
from dashboard.app import create_app
from qingzhi.config import load_settings
from tests.conftest import _admin, db_url
from db_helpers import with_conn as sql

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).parent / "artifacts"
OPERATOR = "test-commander"


def logged_in(database_url: str) -> str:
    """The Cookie header of a session of OPERATOR, a commander."""
    return session_cookie(database_url, make_user(database_url, "commander", name=OPERATOR))
STALE_S, LOST_S = 20, 120


@pytest.fixture(scope="session")
def live_db(template_db: str) -> Iterator[str]:
    name = f"qz_live_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f"CREATE DATABASE {name} TEMPLATE {template_db}"))
    yield db_url(name)
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def live_app(live_db: str):
    settings = load_settings(database_url=live_db, stale_after_s=STALE_S, lost_after_s=LOST_S)
    app = create_app(settings)
    yield app
    app.server.extensions["qingzhi"].db.close()




@pytest.fixture
def db(live_db: str) -> str:
    """The session database, emptied."""
    sql(live_db, lambda c: c.execute(
        "TRUNCATE units, alerts, stations, zones, incidents, positions, cam_states, statuses RESTART IDENTITY CASCADE"))
    return live_db


def start(dash_duo, app, path: str = "/") -> None:
    start_logged_in(dash_duo, app, "commander", port=free_port(), name=OPERATOR)
    if path != "/":
        dash_duo.driver.get(dash_duo.server_url + path)
    wait_js(dash_duo, "return !!(window.qzRuntime && window.qzRuntime.live && window.qzRuntime.live.applied)")


def js(dash_duo, script: str) -> Any:
    return dash_duo.driver.execute_script(script)


def wait_js(dash_duo, script: str, ok: Callable[[Any], bool] = bool, timeout: float = 15) -> Any:
    end = time.monotonic() + timeout
    while True:
        got = js(dash_duo, script)
        if ok(got):
            return got
        if time.monotonic() > end:
            raise AssertionError(f"timed out: {script} -> {got!r}")
        time.sleep(0.2)


STATS = "return window.qzRuntime.live.stats()"
UNIT = "var u = window.qzRuntime.live.layer.units.get('{id}'); return u ? {{lat: u.lat, fresh: u.fresh, \
label: u.ageLabel, onMap: u.onMap, mlat: u.marker && u.marker.getLatLng().lat}} : null"


def on_duty_with_position(url: str) -> int:
    return sql(url, lambda c: c.fetchval(
        "SELECT count(*) FROM units WHERE status IS DISTINCT FROM 'off_duty' AND lat IS NOT NULL"))


def realistic(url: str, units: int) -> list[str]:
    """A district around Hangzhou with stale/lost units, an SOS and a few alerts."""
    ids = sql(url, lambda c: seed_district(c, units=units, stations=4, stale=12, lost=6, center=HANGZHOU))
    sos = ids[40]

    async def extra(conn):
        await conn.execute("UPDATE units SET sos = true, status = 'on_scene', version = nextval('units_version_seq')"
                           " WHERE id = $1", sos)
        await conn.execute(
            """INSERT INTO alerts (ts, kind, severity, subject, unit, station) VALUES
               (now() - interval '20 s', 'sos', 1, $1, $1, split_part($1, '-', 1)),
               (now() - interval '2 min', 'cam_recording', 2, $2, $2, split_part($2, '-', 1)),
               (now() - interval '4 min', 'cam_fault', 2, $3, $3, split_part($3, '-', 1)),
               (now() - interval '6 min', 'unit_lost', 2, $4, $4, split_part($4, '-', 1))""",
            sos, ids[61], ids[77], ids[14])
        await conn.execute("INSERT INTO alerts (ts, kind, severity, subject, zone, station, detail) VALUES"
                           " (now() - interval '9 min', 'zone_level', 2, 'ST02-Z1', 'ST02-Z1', 'ST02', '{\"to\": 1}')")

    sql(url, extra)
    return ids


def test_live_page_draws_every_on_duty_unit(dash_duo, live_app, db):
    realistic(db, 300)
    start(dash_duo, live_app)
    expected = on_duty_with_position(db)
    assert 200 < expected < 300  # the mix has off-duty units, which are hidden
    stats = wait_js(dash_duo, STATS, lambda s: s["markers"] == expected)
    assert stats["mode"] == "points" and stats["clustered"] == 0 and stats["units"] == 300
    dash_duo.wait_for_text_to_equal('[data-count="on_duty"]', str(expected))
    dash_duo.wait_for_contains_text("#live-alerts", "SOS 紧急求助")
    first = dash_duo.find_element("#live-alerts > div")
    assert "SOS" in first.text and "qz-flash" in first.get_attribute("class")  # SOS on top, flashing
    assert js(dash_duo, "return document.querySelector('#live-alerts-open').textContent") == "5 条待确认"
    assert int(js(dash_duo, "return document.querySelector('[data-count=\"sos\"]').textContent")) == 1
    # overlays drawn on a plain background although no tile server is reachable
    wait_js(dash_duo, "return document.querySelectorAll('.qz-area-label').length", lambda n: n == 4)
    wait_js(dash_duo, "return document.querySelectorAll('.qz-inc').length", lambda n: n == 6)
    time.sleep(1.2)  # let an SOS flash phase and the counters settle for the picture
    ARTIFACTS.mkdir(exist_ok=True)
    dash_duo.driver.save_screenshot(str(ARTIFACTS / "live_page.png"))
    assert severe_logs(dash_duo) == []


def test_unit_moved_in_db_moves_on_map(dash_duo, live_app, db):
    ids = sql(db, lambda c: seed_district(c, units=50, stations=1))
    uid = next(i for i in ids if sql(db, lambda c: c.fetchval("SELECT status FROM units WHERE id = $1", i)) != "off_duty")
    start(dash_duo, live_app)
    before = js(dash_duo, UNIT.format(id=uid))
    assert before["onMap"] and before["fresh"] == 0
    new_lat = before["lat"] + 0.002
    sql(db, lambda c: c.execute(
        "UPDATE units SET lat = $2, fix_ts = now(), version = nextval('units_version_seq') WHERE id = $1", uid, new_lat))
    moved = wait_js(dash_duo, UNIT.format(id=uid), lambda u: abs(u["mlat"] - new_lat) < 1e-9, timeout=10)
    assert moved["onMap"]
    version = js(dash_duo, STATS)["version"]
    assert version == sql(db, lambda c: c.fetchval("SELECT max(version) FROM units"))


def test_stale_unit_turns_stale_then_last_will_makes_it_lost(dash_duo, live_app, db):
    sql(db, lambda c: seed_district(c, units=5, stations=1))
    sql(db, lambda c: c.execute(
        "INSERT INTO units (id, station, kind, lat, lon, fix_ts, status, status_ts)"
        " VALUES ('OLD-1', 'ST01', 'car', $1, $2, now() - make_interval(secs => $3), 'patrolling', now())",
        HANGZHOU[0], HANGZHOU[1], STALE_S - 12))      # time to start the page, even on a loaded machine
    start(dash_duo, live_app)
    assert js(dash_duo, UNIT.format(id="OLD-1"))["fresh"] == 0
    version = js(dash_duo, STATS)["version"]
    stale = wait_js(dash_duo, UNIT.format(id="OLD-1"), lambda u: u["fresh"] == 1, timeout=20)
    assert stale["label"] in ("20秒", "21秒", "22秒", "23秒", "24秒")  # aged in the browser: no new data
    assert js(dash_duo, STATS)["version"] == version
    dash_duo.wait_for_text_to_equal('[data-count="stale"]', "1")
    # the terminal's last will: offline -> lost at once, long before lost_after_s
    sql(db, lambda c: c.execute(
        "UPDATE units SET status = 'offline', status_ts = now(), version = nextval('units_version_seq') WHERE id = 'OLD-1'"))
    wait_js(dash_duo, UNIT.format(id="OLD-1"), lambda u: u["fresh"] == 2, timeout=8)
    dash_duo.wait_for_text_to_equal('[data-count="lost"]', "1")


def test_camera_recording_raises_alert_and_ack_records_who_and_when(dash_duo, live_app, db):
    ids = sql(db, lambda c: seed_district(c, units=10, stations=1))
    start(dash_duo, live_app)
    dash_duo.wait_for_text_to_equal("#live-alerts", "暂无告警")
    alert_id = sql(db, lambda c: c.fetchval(
        "INSERT INTO alerts (ts, kind, severity, subject, unit, station, detail)"
        " VALUES (now(), 'cam_recording', 2, $1, $1, 'ST01', '{\"state\": \"recording\"}') RETURNING id", ids[3]))
    dash_duo.wait_for_contains_text("#live-alerts", "执法记录仪开始录像", timeout=10)
    assert ids[3] in dash_duo.find_element("#live-alerts").text
    dash_duo.find_element(".qz-ack").click()
    dash_duo.wait_for_contains_text("#live-alerts", f"{OPERATOR} 于", timeout=10)
    row = sql(db, lambda c: c.fetchrow("SELECT acked_by, acked_at, now() - acked_at AS age FROM alerts WHERE id = $1",
                                       alert_id))
    assert row["acked_by"] == OPERATOR and row["age"].total_seconds() < 30
    dash_duo.wait_for_text_to_equal("#live-alerts-open", "", timeout=10)


def test_click_unit_shows_details_trail_and_search(dash_duo, live_app, db):
    ids = sql(db, lambda c: seed_district(c, units=20, stations=1))
    uid = ids[1]
    sql(db, lambda c: c.execute("UPDATE units SET status = 'patrolling', stream_url = 'https://video.example/live/x.m3u8',"
                                " version = nextval('units_version_seq') WHERE id = $1", uid))
    rng = random.Random(4)
    for _ in range(4):
        sql(db, lambda c: move_units(c, [uid], rng=rng, metres=60))
    start(dash_duo, live_app)
    wait_js(dash_duo, UNIT.format(id=uid), lambda u: u and u["onMap"])
    x, y = js(dash_duo, f"""var l = window.qzRuntime.live; var u = l.layer.units.get('{uid}');
        l.map.setView([u.lat, u.lon], 16, {{animate: false}});
        var p = l.map.latLngToContainerPoint([u.lat, u.lon]);
        var r = l.map.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y];""")
    time.sleep(0.5)
    click_at(dash_duo, x, y)
    dash_duo.wait_for_contains_text("#live-details", uid, timeout=10)
    details = dash_duo.find_element("#live-details").text
    assert "30 分钟轨迹：4 个定位点" in details and "西湖派出所" in details and "实时画面" in details
    assert dash_duo.find_element(".qz-cam-open").get_attribute("data-unit") == uid  # opens through the audited hop
    trail = wait_js(dash_duo, """var n = 0; window.qzRuntime.live.map.eachLayer(function (l) {
        if (l instanceof L.Polyline && !(l instanceof L.Polygon)) { n = Math.max(n, l.getLatLngs().length); } });
        return n;""", lambda n: n == 4)
    assert trail == 4
    # search by call sign (case-insensitive)
    search = dash_duo.find_element("#live-search")
    search.send_keys(ids[5].lower() + "\n")
    dash_duo.wait_for_contains_text("#live-search-msg", f"已定位 {ids[5]}", timeout=8)
    dash_duo.wait_for_contains_text("#live-details", ids[5], timeout=10)
    search.clear()
    search.send_keys("NOPE-999\n")
    dash_duo.wait_for_contains_text("#live-search-msg", "未找到呼号 NOPE-999", timeout=8)


def test_station_filter_and_layer_toggles(dash_duo, live_app, db):
    ids = sql(db, lambda c: seed_district(c, units=60, stations=3))
    start(dash_duo, live_app)
    everyone = on_duty_with_position(db)
    wait_js(dash_duo, STATS, lambda s: s["markers"] == everyone)
    dash_duo.select_dcc_dropdown("#live-station", value="拱墅派出所")
    st03 = sql(db, lambda c: c.fetchval("SELECT count(*) FROM units WHERE station = 'ST03' AND status <> 'off_duty'"))
    stats = wait_js(dash_duo, STATS, lambda s: s["units"] == 20 and s["markers"] == st03)
    assert stats["shown"] == st03 < everyone
    dash_duo.wait_for_text_to_equal('[data-count="on_duty"]', str(st03))
    wait_js(dash_duo, "return document.querySelectorAll('.qz-area-label').length", lambda n: n == 1)
    # off-duty units are hidden until asked for
    off = sql(db, lambda c: c.fetchval("SELECT count(*) FROM units WHERE station = 'ST03' AND status = 'off_duty'"))
    dash_duo.find_element("#live-options input[value='off_duty']").click()
    wait_js(dash_duo, STATS, lambda s: s["markers"] == st03 + off)
    # the units layer can be switched off and on in the layer control
    units_box = next(el for el in dash_duo.driver.find_elements("css selector", ".leaflet-control-layers-overlays label")
                     if el.text.strip() == "警力")
    units_box.click()
    wait_js(dash_duo, STATS, lambda s: s["markers"] == 0)
    units_box.click()
    wait_js(dash_duo, STATS, lambda s: s["markers"] == st03 + off)
    assert ids


def test_language_switch_changes_labels(dash_duo, live_app, db):
    sql(db, lambda c: seed_district(c, units=10, stations=1))
    start(dash_duo, live_app)
    dash_duo.wait_for_contains_text(".qz-counts", "在岗")
    dash_duo.find_element("#app-lang-link").click()
    dash_duo.wait_for_contains_text(".qz-counts", "On duty", timeout=10)
    wait_js(dash_duo, "return window.qzRuntime.live && window.qzRuntime.live.cfg.lang", lambda v: v == "en")
    assert "Alerts" in dash_duo.find_element(".qz-alert-panel").text
    assert dash_duo.find_element("#app-lang-link").text == "中文"
    assert "Patrolling" in dash_duo.find_element(".qz-legend").text


def test_connection_lost_banner_and_recovery(dash_duo, live_app, db):
    sql(db, lambda c: seed_district(c, units=10, stations=1))
    start(dash_duo, live_app)
    js(dash_duo, """window.__qzFetch = window.fetch; window.fetch = function (url, opts) {
        return String(url).indexOf('/api/live') >= 0 ? Promise.reject(new TypeError('network down'))
                                                     : window.__qzFetch(url, opts); };""")
    wait_js(dash_duo, "return !document.getElementById('live-banner').hidden", timeout=12)
    assert dash_duo.find_element("#live-banner").text.startswith("连接中断，自 ")
    js(dash_duo, "window.fetch = window.__qzFetch;")
    wait_js(dash_duo, "return document.getElementById('live-banner').hidden", timeout=12)
    assert js(dash_duo, STATS)["failing"] is False


def test_reconnects_by_itself_after_the_server_restarts(dash_duo, db, tmp_path):
    ids = sql(db, lambda c: seed_district(c, units=10, stations=1))
    port, log = free_port(), tmp_path / "dashboard.log"
    with dashboard_process(log, port=port, database_url=db):
        browser_login(dash_duo.driver, f"http://127.0.0.1:{port}", db, "wall")   # the session outlives the server
        dash_duo.driver.get(f"http://127.0.0.1:{port}/wall")
        wait_js(dash_duo, "return !!(window.qzRuntime && window.qzRuntime.live && window.qzRuntime.live.applied)")
    # the server is gone: the banner says so
    wait_js(dash_duo, "return !document.getElementById('live-banner').hidden", timeout=15)
    assert "连接中断，自" in dash_duo.find_element("#live-banner").text
    # a fix written while the server is away shows up once it is back, without a reload
    sql(db, lambda c: c.execute("UPDATE units SET lat = lat + 0.003, fix_ts = now(),"
                                " version = nextval('units_version_seq') WHERE id = $1", ids[0]))
    with dashboard_process(log, port=port, database_url=db):
        wait_js(dash_duo, "return document.getElementById('live-banner').hidden", timeout=20)
        new_lat = sql(db, lambda c: c.fetchval("SELECT lat FROM units WHERE id = $1", ids[0]))
        wait_js(dash_duo, UNIT.format(id=ids[0]), lambda u: abs(u["lat"] - new_lat) < 1e-9, timeout=10)


def test_clusters_at_low_zoom_points_when_zoomed_in(dash_duo, live_app, db):
    sql(db, lambda c: seed_district(c, units=1600, stations=4))
    start(dash_duo, live_app)
    js(dash_duo, "window.qzRuntime.live.map.setZoom(12, {animate: false})")
    stats = wait_js(dash_duo, STATS, lambda s: s["mode"] == "clusters" and s["clusters"] > 0)
    assert stats["markers"] + stats["clustered"] == stats["shown"]
    js(dash_duo, "var m = window.qzRuntime.live.map; m.setView(m.getCenter(), 17, {animate: false})")
    stats = wait_js(dash_duo, STATS, lambda s: s["mode"] == "points")
    assert stats["clusters"] == 0 and stats["clustered"] == 0 and 0 < stats["markers"] < stats["shown"]


def click_at(dash_duo, x: float, y: float) -> None:
    """A real mouse click at viewport coordinates (the units are drawn on a canvas)."""
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        dash_duo.driver.execute_cdp_cmd("Input.dispatchMouseEvent",
                                        {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})


def set_viewport(dash_duo, width: int, height: int) -> None:
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


@pytest.mark.parametrize("width,height", [(1920, 1080), (3840, 2160)])
def test_wall_mode_renders(dash_duo, live_app, db, width, height):
    realistic(db, 400)
    set_viewport(dash_duo, width, height)
    start(dash_duo, live_app, "/wall")
    expected = on_duty_with_position(db)
    wait_js(dash_duo, STATS, lambda s: s["markers"] == expected)
    dash_duo.wait_for_text_to_equal('[data-count="on_duty"]', str(expected))
    dash_duo.wait_for_contains_text(".qz-wall-side", "SOS 紧急求助")
    assert js(dash_duo, "return document.getElementById('app-header').hidden") is True
    rect = js(dash_duo, "var r = document.getElementById('live-map').getBoundingClientRect(); return [r.width, r.height]")
    assert rect == [width, height]
    side = js(dash_duo, "var r = document.querySelector('.qz-wall-side').getBoundingClientRect(); return [r.right, r.bottom]")
    assert side[0] <= width and side[1] <= height
    assert js(dash_duo, "return document.querySelectorAll('.qz-ack').length") == 0  # no controls on the wall
    wait_js(dash_duo, "return document.getElementById('live-clock').textContent", lambda t: t.count(":") == 2)
    time.sleep(1.2)
    ARTIFACTS.mkdir(exist_ok=True)
    dash_duo.driver.save_screenshot(str(ARTIFACTS / f"wall_{width}x{height}.png"))
    assert severe_logs(dash_duo) == []


def test_wall_of_one_station(dash_duo, live_app, db):
    sql(db, lambda c: seed_district(c, units=40, stations=2))
    start(dash_duo, live_app, "/wall?station=ST02&lang=en")
    st02 = sql(db, lambda c: c.fetchval("SELECT count(*) FROM units WHERE station = 'ST02' AND status <> 'off_duty'"))
    wait_js(dash_duo, STATS, lambda s: s["units"] == 20 and s["markers"] == st02)
    dash_duo.wait_for_text_to_equal('[data-count="on_duty"]', str(st02))
    assert "On duty" in dash_duo.find_element(".qz-wall-side").text


def test_show_unit_callback(live_app, db):
    from dashboard.live.callbacks import show_unit

    ids = sql(db, lambda c: seed_district(c, units=3, stations=1))
    rng = random.Random(5)
    for _ in range(3):
        sql(db, lambda c: move_units(c, [ids[0]], rng=rng))
    with live_app.server.test_request_context(headers={"Cookie": logged_in(db)}):
        details, trail = show_unit(ids[0], "en")
        assert len(trail["features"][0]["geometry"]["coordinates"]) == 3
        text = json.dumps([d.to_plotly_json() for d in details], default=lambda o: o.to_plotly_json())
        assert ids[0] in text and "Xihu Station" in text and "30-minute trail: 3 fixes" in text
        details, trail = show_unit("GHOST-1", "zh")
    assert trail["features"] == [] and "未知警力 GHOST-1" in json.dumps(details[0].to_plotly_json(), ensure_ascii=False)


def test_acknowledge_callback_records_operator(live_app, db):
    from dashboard.live.callbacks import acknowledge

    alert_id = sql(db, lambda c: c.fetchval(
        "INSERT INTO alerts (ts, kind, subject, unit) VALUES (now(), 'cam_recording', 'U9', 'U9') RETURNING id"))
    with live_app.server.test_request_context(headers={"Cookie": logged_in(db)}):
        label, disabled = acknowledge(1, {"type": "live-ack", "alert": alert_id}, "en")
        assert acknowledge(None, {"type": "live-ack", "alert": alert_id}, "en")[1] is not True
        gone = acknowledge(1, {"type": "live-ack", "alert": alert_id + 100}, "en")
    assert disabled is True and label.startswith(f"Acknowledged by {OPERATOR} at ")
    assert gone == ("No such alert", True)
    row = sql(db, lambda c: c.fetchrow("SELECT acked_by, acked_at FROM alerts WHERE id = $1", alert_id))
    assert row["acked_by"] == OPERATOR and row["acked_at"] is not None
