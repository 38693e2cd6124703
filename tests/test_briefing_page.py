"""/briefing in real Chromium: the crafted day's briefing, a meeting task created and completed
from the page, an export downloaded; and the gate: an analyst sees but cannot act, a wall
account cannot open the page, a station commander sees only their station."""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_helpers import login_client, severe_logs, start_logged_in

from bench.services import free_port
from briefing_fixtures import D, seed_briefing, seed_tracks
from dashboard.app import create_app
from db_helpers import with_conn as sql
from qingzhi.config import Settings

pytestmark = pytest.mark.browser


@pytest.fixture
def app(settings: Settings) -> Iterator:
    sql(settings.database_url, seed_briefing)
    got = create_app(settings)
    yield got
    got.server.extensions["qingzhi"].db.close()


def test_briefing_page_tasks_and_export(dash_duo, app, tmp_path: Path) -> None:  # noqa: ANN001
    start_logged_in(dash_duo, app, "commander", port=free_port())
    dash_duo.driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    dash_duo.driver.get(f"{dash_duo.server_url}/briefing?day={D}")
    dash_duo.wait_for_contains_text("#bf-summary", "共接报警 10 起，环比上升 400.0%", timeout=30)
    assert "重复报警占比 20.0%" in dash_duo.find_element("#bf-summary").text
    assert "40.0" in dash_duo.find_element("#bf-rates").text       # 盘查抓获率
    assert len(dash_duo.find_elements(".bf-chart")) == 4  # the map of calls and three charts
    dash_duo.find_element("#brief-task-title").send_keys("加强文三路电动车防盗巡逻")
    dash_duo.find_element("#brief-task-officer").send_keys("张警官")
    dash_duo.find_element("#brief-task-create").click()
    dash_duo.wait_for_contains_text("#brief-task-msg", "已下达任务 #1", timeout=20)
    dash_duo.wait_for_contains_text("#bf-tasks", "加强文三路电动车防盗巡逻", timeout=20)
    assert "进行中" in dash_duo.find_element("#bf-tasks").text
    dash_duo.find_element("#brief-task-result").send_keys("已增派两组巡逻")
    dash_duo.find_element("#bf-tasks button").click()
    dash_duo.wait_for_contains_text("#brief-task-msg", "任务 #1 已办结", timeout=20)
    dash_duo.wait_for_contains_text("#bf-tasks", "已完成", timeout=20)
    dash_duo.find_element("#brief-export-csv").click()  # the same callback makes HTML and PDF (charts: seconds)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and not list(tmp_path.glob("briefing-*.zip")):
        time.sleep(0.5)
    [got] = list(tmp_path.glob("briefing-*.zip"))
    with zipfile.ZipFile(got) as zf:
        tasks = zf.read("tasks.csv").decode("utf-8-sig")
    assert got.name == f"briefing-{D}.zip" and "加强文三路电动车防盗巡逻" in tasks and "已完成" in tasks
    actions = sql(app.server.extensions["qingzhi"].settings.database_url,
                  lambda c: c.fetch("SELECT action FROM audit_log WHERE action LIKE 'briefing.%' OR action = 'export' ORDER BY id"))
    assert [a["action"] for a in actions] == ["briefing.task.create", "briefing.task.done", "export"]


def test_the_gate_and_station_scope(app) -> None:  # noqa: ANN001
    wall = login_client(app, "wall")
    assert wall.get("/briefing").status_code == 403
    analyst = login_client(app, "analyst")
    assert analyst.get("/briefing").status_code == 200
    body = {"output": "brief-task-msg.children", "outputs": {"id": "brief-task-msg", "property": "children"},
            "inputs": [{"id": "brief-task-create", "property": "n_clicks", "value": 1}], "changedPropIds": [],
            "state": []}
    assert analyst.post("/_dash-update-component", json=body).status_code == 403  # tasks: briefing.act only


def test_playback_page_loads_plays_and_places_units(dash_duo, app) -> None:  # noqa: ANN001
    sql(app.server.extensions["qingzhi"].settings.database_url, seed_tracks)
    start_logged_in(dash_duo, app, "analyst", port=free_port())
    # an analyst (no task form) gets the briefing on opening the page too, with nothing refused in the console
    dash_duo.driver.get(f"{dash_duo.server_url}/briefing?day={D}")
    dash_duo.wait_for_contains_text("#bf-summary", "共接报警 10 起", timeout=30)
    assert not dash_duo.find_elements("#brief-task-create")
    assert not [e for e in severe_logs(dash_duo) if e["level"] == "SEVERE"]
    dash_duo.driver.get(f"{dash_duo.server_url}/playback?day=2026-11-24&lang=en")
    for box, value in (("#pb-from", "16:15"), ("#pb-to", "17:15")):  # 08:15–09:15 UTC in Asia/Shanghai
        dash_duo.clear_input(dash_duo.find_element(box))
        dash_duo.find_element(box).send_keys(value)
    dash_duo.find_element("#pb-load").click()
    dash_duo.wait_for_contains_text("#pb-msg", "2 units, 240 track points, 1 incidents, 1 stops", timeout=20)
    first = dash_duo.find_element("#pb-clock").text
    assert first
    dash_duo.find_element("#pb-play").click()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and dash_duo.find_element("#pb-clock").text == first:
        time.sleep(0.3)
    assert dash_duo.find_element("#pb-clock").text != first  # the clock runs
    frame = dash_duo.driver.execute_script(
        "return window.dash_clientside.qz.playbackFrame(15, {units: [{unit: 'X', t: [10, 20], lat: [30, 31], "
        "lon: [120, 120], st_t: [0, 14], st: ['patrolling', 'on_scene']}], incidents: [{id: 'I', t: 16, lat: 0, "
        "lon: 0, type: 'x', priority: 1}], stops: []})")
    [unit] = frame[0]["features"]
    assert unit["geometry"]["coordinates"] == [120, 30.5] and unit["properties"]["status"] == "on_scene"
    assert frame[1]["features"] == []  # the incident is received only at 16
    # a window opens between fixes: a unit is drawn at its first fix up to five minutes before it, not earlier;
    # the clock writes dates like the rest of the app, in the centre's zone
    for at, drawn in ((-290, [[120, 30]]), (-291, [])):
        got = dash_duo.driver.execute_script(
            f"return window.dash_clientside.qz.playbackFrame({at}, {{units: [{{unit: 'X', t: [10, 20], "
            "lat: [30, 31], lon: [120, 120], st_t: [], st: []}], incidents: [], stops: [], clock: {tz: 'Asia/Shanghai'}})")
        assert [f["geometry"]["coordinates"] for f in got[0]["features"]] == drawn
    assert got[3] == "1970-01-01 07:55:09"
    dash_duo.find_element("#pb-units").send_keys("bad;unit")
    dash_duo.find_element("#pb-load").click()
    dash_duo.wait_for_contains_text("#pb-msg", "by call sign", timeout=20)


def _show_body(app, station: str, day: str = str(D), kind: str = "day") -> dict:  # noqa: ANN001
    key = next(k for k in app.callback_map if "brief-body.children" in k)
    return {"output": key, "outputs": [{"id": "brief-body", "property": "children"},
                                       {"id": "brief-error", "property": "children"}],
            "inputs": [{"id": "brief-show", "property": "n_clicks", "value": 1},
                       {"id": "brief-task-msg", "property": "children", "value": None}],
            "state": [{"id": "brief-kind", "property": "value", "value": kind},
                      {"id": "brief-day", "property": "date", "value": day},
                      {"id": "brief-to", "property": "date", "value": None},
                      {"id": "brief-station", "property": "value", "value": station},
                      {"id": "app-lang", "property": "data", "value": "en"}],
            "changedPropIds": ["brief-show.n_clicks"]}


def test_the_server_decides_the_stations_and_refuses_bad_input(app) -> None:  # noqa: ANN001
    west = login_client(app, "commander", ["S2"])
    def show(*args: str) -> str:
        return json.dumps(west.post("/_dash-update-component", json=_show_body(app, *args)).get_json(),
                          ensure_ascii=False)
    own = show("")
    assert "Briefing: 2026-11-21 · S2" in own and "S2-NOISE" in own and "S1-FRAUD-1" not in own
    other = show("S1")
    assert "may not briefing.view at station S1" in other and "S1-FRAUD-1" not in other
    for day, kind, message in (("2026-13-45", "day", "is not a date"), ("<script>", "day", "is not a date"),
                               (str(D), "decade", "period kind must be")):
        assert message in show("", day, kind)
