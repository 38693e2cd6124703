"""/dispatch in real headless Chromium against `qingzhi dashboard` in its own process: pick an
incident, assign the top recommended unit, see the command on the broker and its acknowledgement
on the page, move the lifecycle on; the side panels; the ack timeout offering the next unit; live
updates without a dcc.Interval."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from auth_helpers import browser_login, severe_logs
from bench.services import dashboard_process
from conftest import MQTT_URL, _admin, db_url
from dispatch_fixtures import Listener, run_db, seed_city, seed_history, seed_incident, seed_unit, write_ack
from qingzhi.config import Settings, load_settings
from qingzhi.core import grids
from qingzhi.core.actor import Actor

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
pytestmark = pytest.mark.browser
DESK = "duty.zhang"     # the commander at the desk
DB_URL: list[str] = []  # the session's database, for logging in
SEEDED_AT: list[dt.datetime] = []  # when the fleet's fix ages were last as seeded


@pytest.fixture(scope="session")
def page_settings(template_db: str) -> Iterator[Settings]:
    """One database and topic root for the one app of this session, seeded with a small district."""
    name = f"qz_t_disp_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f"CREATE DATABASE {name} TEMPLATE {template_db}"))
    settings = load_settings(database_url=db_url(name), mqtt_url=MQTT_URL, topic_root=f"qztest/{uuid.uuid4().hex[:10]}/v1",
                             client_id=f"qz-test-{uuid.uuid4().hex[:8]}")
    run_db(settings.database_url, seed_city)
    SEEDED_AT[:] = [dt.datetime.now(dt.UTC)]
    run_db(settings.database_url, seed_history)
    run_db(settings.database_url, seed_grids)
    DB_URL[:] = [settings.database_url]
    yield settings
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(autouse=True)
def fixes_as_seeded(page_settings: Settings) -> None:
    """Each test finds the fleet's fixes as old as when they were seeded (3–12 s, or 400 s: lost), however
    long the tests before it took: a unit with no fix for stale_after_s (60 s) is never recommended."""
    now = dt.datetime.now(dt.UTC)
    shift, SEEDED_AT[:] = now - (SEEDED_AT or [now])[0], [now]
    run_db(page_settings.database_url, lambda c: c.execute(
        "UPDATE units SET fix_ts = fix_ts + $1::interval, version = nextval('units_version_seq')", shift))


@pytest.fixture(scope="session")
def dashboard_url(page_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`qingzhi dashboard` (waitress) in its own process, as it runs in production. Its own process
    also keeps this session free of a second Dash app (Dash registers callbacks globally)."""
    settings = {k: v for k, v in page_settings.model_dump().items() if v is not None}
    with dashboard_process(tmp_path_factory.mktemp("dispatch-dashboard") / "dashboard.log", **settings) as url:
        yield url


async def seed_grids(conn: Any) -> None:
    """A community grid around the doorway of seed_history, for each station, with its officer's device."""
    d = 0.002
    ring = [[120.13 - d, 31.288 - d], [120.13 + d, 31.288 - d], [120.13 + d, 31.288 + d], [120.13 - d, 31.288 + d],
            [120.13 - d, 31.288 - d]]
    for station in ("XH", "GS"):
        await seed_unit(conn, f"{station}-CO1", 31.288, 120.13, station=station, status="patrolling")
        await grids.load_grids(Actor.system("test"), conn, station, {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
             "properties": {"id": f"{station}-G1", "name": "文三社区", "officer": "王警官", "unit": f"{station}-CO1",
                            "grid_worker": "李网格"}}]})


def open_page(dash_br, url: str, lang: str, role: str = "commander") -> WebDriverWait:
    """Log in (the desk's commander, or an admin) and open /dispatch; a waiter for what follows."""
    browser_login(dash_br.driver, url, DB_URL[0], role, name=DESK if role == "commander" else f"desk.{role}")
    dash_br.server_url = url                       # loads "/" and waits for Dash, now logged in
    dash_br.driver.get(f"{url}/dispatch?lang={lang}")
    return WebDriverWait(dash_br.driver, 20)


def shot(dash_br, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    dash_br.driver.save_screenshot(str(ARTIFACTS / f"dispatch_{name}.png"))


def test_click_incident_assign_unit_see_command_and_ack(dash_br, dashboard_url: str, page_settings: Settings) -> None:
    wait = open_page(dash_br, dashboard_url, "zh")
    card = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, '[id*="110-0001"]')))
    assert "dp-card overdue" in card.get_attribute("class")  # a P1 waiting 95 s is past its 60 s
    first_card = dash_br.driver.find_elements(By.CSS_SELECTOR, ".dp-queue .dp-card")[0]
    assert "110-0001" in first_card.get_attribute("id")  # P1 first
    shot(dash_br, "1_queue")
    wait_text = lambda: dash_br.driver.find_element(By.CSS_SELECTOR, '[id*="110-0005"] .dp-wait').text
    before = wait_text()
    wait.until(lambda d: wait_text() != before)  # the browser advances the waits between redraws
    assert wait_text().startswith("已历时 25:")

    card.click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-head h2"), "110-0001"))
    assign = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, ".dp-recommend .dp-btn.primary")))
    top_unit = dash_br.driver.find_element(By.CSS_SELECTOR, ".dp-recommend tbody tr td.dp-unit").text
    rows = dash_br.driver.find_elements(By.CSS_SELECTOR, ".dp-recommend tbody tr")
    assert len(rows) >= 3
    shot(dash_br, "2_selected")

    listener = Listener(page_settings.mqtt_url, f"{page_settings.topic_root}/+/+/cmd")
    try:
        assign.click()
        topic, payload = listener.next(timeout=15)
    finally:
        listener.close()
    assert topic.endswith(f"/{top_unit}/cmd") and payload["incident"] == "110-0001" and payload["by"] == DESK
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-msg"), top_unit))
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-units"), "等待签收"))
    assert "已派" in dash_br.driver.find_element(By.CSS_SELECTOR, ".dp-head h2").text
    shot(dash_br, "3_assigned")

    run_db(page_settings.database_url, write_ack, payload["id"], top_unit, topic.split("/")[-3])
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-units"), "已签收"))
    card = dash_br.driver.find_element(By.CSS_SELECTOR, '[id*="110-0001"]')
    assert top_unit in card.text

    wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, '[id*="on_scene"][id*="dispatch-step"]'))).click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-head h2"), "到场"))
    shot(dash_br, "4_on_scene")
    assert not severe_logs(dash_br)


def test_new_incident_from_the_map_flags_task_loop_and_response_times_in_english(
        dash_br, dashboard_url: str, page_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    wait = open_page(dash_br, dashboard_url, "en")
    tab = lambda label: wait.until(EC.element_to_be_clickable(
        (By.XPATH, f"//div[contains(@class, 'dp-tab') and normalize-space(.) = '{label}']")))

    tab("New call").click()
    submit = wait.until(EC.visibility_of_element_located((By.ID, "dispatch-form-submit")))
    submit.click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-msg"), "Click the map to set the location first"))
    dash_br.driver.find_element(By.ID, "dispatch-map").click()  # the map's centre
    wait.until(EC.text_to_be_present_in_element((By.ID, "dispatch-form-where"), "Location: 30.27"))
    dash_br.select_dcc_dropdown("#dispatch-form-type", value="Neighbour dispute")
    dash_br.driver.find_element(By.ID, "dispatch-form-address").send_keys("Wensan Rd 90, gate 2")
    dash_br.driver.find_element(By.ID, "dispatch-form-caller").send_keys("13800001111")
    shot(dash_br, "5_form")
    submit.click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-msg"), "recorded"))
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-head"), "Walk-in / radio"))
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-queue .dp-card.selected"), "Neighbour dispute"))

    tab("Repeats").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "dispatch-flags"), "Same caller"))
    flags = dash_br.driver.find_element(By.ID, "dispatch-flags").text
    assert "4th call from this number in 30 days" in flags and "5 incidents within 150 m in 14 days" in flags
    assert "文三路 90 号" in flags
    assert "Type surging" not in flags  # no earlier weeks in this district: nothing to compare with
    dash_br.driver.find_element(By.XPATH, "//button[contains(@class,'dp-flag-open')][.//span[text()='Same place']]").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "dispatch-flag-detail"), "H000"))
    dash_br.driver.find_element(By.XPATH, "//div[@class='dp-flag'][.//span[text()='Same place']]//button[text()='Make follow-up task']").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "dispatch-flags"), "Task #1: open"))
    shot(dash_br, "6_flags")

    # the whole loop: 交办 from the form (a deadline in year 9999 refused; then every field filled: the
    # station, another officer and device than the grid's, a grid worker, a deadline; the slip goes to
    # that device and is acknowledged there), 核查, 处置, 反馈, 评价; each step listed with who and when
    tab("Tasks").click()
    def step(label: str, text: str) -> None:
        box = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#dispatch-followups input")))
        box.send_keys(Keys.CONTROL + "a")
        box.send_keys(Keys.DELETE)
        box.send_keys(text)
        dash_br.driver.find_element(By.XPATH, f"//div[@id='dispatch-followups']//button[text()='{label}']").click()

    def fill(field: str, text: str) -> None:
        box = dash_br.driver.find_element(By.CSS_SELECTOR, f"#dispatch-followups input[id*='\"{field}\"']")
        box.send_keys(Keys.CONTROL + "a")
        box.send_keys(Keys.DELETE)
        box.send_keys(text)

    station = run_db(DB_URL[0], lambda c: c.fetchval("SELECT station FROM followups WHERE id = 1"))
    unit = run_db(DB_URL[0], lambda c: c.fetchval(
        "SELECT id FROM units WHERE station = $1 AND id <> $1 || '-CO1' ORDER BY id LIMIT 1", station))
    officer = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#dispatch-followups input[id*='officer']")))
    assert officer.get_attribute("value") == "王警官"  # prefilled from the grid
    fill("due", "9999-12-31 23:59")
    dash_br.driver.find_element(By.XPATH, "//div[@id='dispatch-followups']//button[text()='Assign']").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-msg"), "within 90 days"))
    due = (dt.datetime.now(ZoneInfo(page_settings.timezone)) + dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    dash_br.select_dcc_dropdown("#dispatch-followups .dp-fu-station", value=station)
    officer.send_keys(Keys.ESCAPE)  # the station's menu stays open over the next field
    wait.until(EC.invisibility_of_element_located((By.CSS_SELECTOR, ".dash-dropdown-options")))
    dash_br.find_element("#dispatch-followups .dp-fu-unit").click()  # many units: type to narrow, then pick
    wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, ".dash-dropdown-search"))).send_keys(unit)
    wait.until(EC.element_to_be_clickable(
        (By.XPATH, f"//label[contains(@class,'dash-dropdown-option')][normalize-space(.)='{unit} · {station}']"))).click()
    fill("officer", "赵警官")
    fill("worker", "孙网格")
    fill("due", due)
    shot(dash_br, "8_assign_form")
    listener = Listener(MQTT_URL, f"{page_settings.topic_root}/+/+/cmd")
    try:
        dash_br.driver.find_element(By.XPATH, "//div[@id='dispatch-followups']//button[text()='Assign']").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "dispatch-followups"), "赵警官 / 孙网格"))
        topic, slip = listener.next()
    finally:
        listener.close()
    assert topic.endswith(f"/{unit}/cmd") and (slip["kind"], slip["task"]) == ("message", "1") and "警单 #1" in slip["note"]
    row = run_db(DB_URL[0], lambda c: c.fetchrow("SELECT * FROM followups WHERE id = 1"))
    assert (row["station"], row["officer"], row["unit"], row["grid_worker"]) == (station, "赵警官", unit, "孙网格")
    assert row["due_at"].astimezone(ZoneInfo(page_settings.timezone)).strftime("%Y-%m-%d %H:%M") == due
    audit = json.loads(run_db(DB_URL[0], lambda c: c.fetchval(
        "SELECT details FROM audit_log WHERE action = 'followup.assigned'")))
    assert (audit["unit"], audit["grid_worker"], audit["command"]) == (unit, "孙网格", slip["id"])
    run_db(DB_URL[0], write_ack, slip["id"], topic.split("/")[-2], topic.split("/")[-3])
    step("Record check", "Street light broken at the door")
    wait.until(EC.text_to_be_present_in_element((By.ID, "dispatch-followups"), "slip acknowledged"))
    step("Record handling", "Light repaired; patrol added")
    wait.until(EC.text_to_be_present_in_element((By.ID, "dispatch-followups"), "Light repaired"))
    step("Record report-back", "Caller told by phone")
    wait.until(EC.text_to_be_present_in_element((By.ID, "dispatch-followups"), "Caller told by phone"))
    step("Rate", "9")
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-msg"), "a rating is 1 to 5"))
    step("Rate", "4")
    wait.until(EC.text_to_be_present_in_element((By.ID, "dispatch-followups"), "effect check "))
    task = dash_br.driver.find_element(By.ID, "dispatch-task-1").text
    for text in ("open", "assigned", "verified", "handled", "reported back", "★★★★", "Street light broken"):
        assert text in task, text
    shot(dash_br, "8_task_loop")

    tab("Times").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".dp-times-table tbody tr")))
    rows = [r.text for r in dash_br.driver.find_elements(By.CSS_SELECTOR, ".dp-times-table tbody tr")]
    assert len(rows) == 2 and rows[0].startswith("GS station ") and rows[1].startswith("XH station ")  # by name
    shot(dash_br, "7_times")

    # the walk-in call is not a police matter: diverted to urban management, with the reason
    divert = "//details[summary[text()='Divert to another agency']]"
    wait.until(EC.element_to_be_clickable((By.XPATH, f"{divert}/summary"))).click()
    dash_br.select_dcc_dropdown(dash_br.driver.find_element(By.XPATH, f"{divert}//div[contains(@class,'dash-dropdown')]"),
                                value="Urban management")
    dash_br.driver.find_element(By.XPATH, f"{divert}/div[contains(@class,'dp-row')]//input").send_keys("Street stall noise: city management's matter")
    dash_br.driver.find_element(By.XPATH, f"{divert}//button[text()='Divert to another agency']").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-head"), "Urban management · Street stall noise"))
    assert "Diverted" in dash_br.driver.find_element(By.CSS_SELECTOR, ".dp-head").text

    # a station's community grids uploaded on the Setup tab: a broken file is refused, a good one replaces them
    tab("Setup").click()
    upload = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#dispatch-grid-upload input[type=file]")))
    dash_br.select_dcc_dropdown("#dispatch-grid-station", value="XH")
    files = tmp_path_factory.mktemp("grids")
    (files / "bad.geojson").write_text("{not json", encoding="utf-8")
    upload.send_keys(str(files / "bad.geojson"))
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-msg"), "bad.geojson: not GeoJSON"))
    ring = [[120.12, 31.28], [120.14, 31.28], [120.14, 31.30], [120.12, 31.28]]
    (files / "xh.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
         "properties": {"id": "XH-NEW", "name": "新社区", "officer": "钱警官"}}]}), encoding="utf-8")
    upload = dash_br.driver.find_element(By.CSS_SELECTOR, "#dispatch-grid-upload input[type=file]")
    upload.send_keys(str(files / "xh.geojson"))
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-msg"), "1 grid(s) loaded for XH"))
    shot(dash_br, "9_grids")
    assert run_db(DB_URL[0], lambda c: c.fetch("SELECT id, officer FROM grids WHERE station = 'XH'")) == [
        ("XH-NEW", "钱警官")]


def test_no_ack_in_time_offers_the_next_unit_after_setup_change(dash_br, dashboard_url: str, page_settings: Settings) -> None:
    wait = open_page(dash_br, dashboard_url, "zh", role="admin")     # settings are an admin's
    wait.until(EC.element_to_be_clickable((By.XPATH, "//div[contains(@class, 'dp-tab') and normalize-space(.) = '设置']"))).click()
    box = wait.until(EC.visibility_of_element_located((By.XPATH, """//*[@id='{"key":"ack_timeout_s","type":"dispatch-setting"}']""")))
    box.send_keys(Keys.CONTROL, "a", Keys.NULL, Keys.DELETE, "oops")
    save = dash_br.driver.find_element(By.XPATH, """//*[@id='{"key":"ack_timeout_s","type":"dispatch-setting-save"}']""")
    save.click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-msg"), "不是有效的 JSON"))
    box.send_keys(Keys.CONTROL, "a", Keys.NULL, Keys.DELETE, "2")
    save.click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-msg"), "签收超时"))
    shot(dash_br, "8_setup")

    wait.until(EC.element_to_be_clickable((By.XPATH, "//div[contains(@class, 'dp-tab') and normalize-space(.) = '警情队列']"))).click()
    wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, '[id*="110-0002"]'))).click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-head h2"), "110-0002"))
    listener = Listener(page_settings.mqtt_url, f"{page_settings.topic_root}/+/+/cmd")
    try:
        wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, ".dp-recommend .dp-btn.primary"))).click()
        first_topic, first = listener.next(timeout=15)
        wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-units"), "超时未签收"))
        replace = (By.CSS_SELECTOR, ".dp-units .dp-btn.primary")
        next_unit = wait.until(lambda d: d.find_element(*replace).text).removeprefix("改派 ")
        shot(dash_br, "9_ack_timeout")
        wait.until(EC.element_to_be_clickable(replace)).click()
        got = [listener.next(timeout=15), listener.next(timeout=15)]
    finally:
        listener.close()
    first_unit = first_topic.split("/")[-2]
    assert first["kind"] == "dispatch" and next_unit != first_unit
    kinds = {(t.split("/")[-2], p["kind"]) for t, p in got}
    assert kinds == {(first_unit, "message"), (next_unit, "dispatch")}
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-units"), "已解除"))
    active = lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, ".dp-assignment:not(.released)")]
    wait.until(lambda d: any(next_unit in text for text in active(d)))  # (it may time out too: 2 s)
    assert first_unit not in dash_br.driver.find_element(By.CSS_SELECTOR, ".dp-recommend").text  # not offered again
    shot(dash_br, "10_replaced")


HISTORY = "return (window.store || window.dash_stores[0]).getState().history.past.length"


def test_live_updates_come_without_an_interval_and_leave_no_undo_history(dash_br, dashboard_url: str,
                                                                         page_settings: Settings) -> None:
    wait = open_page(dash_br, dashboard_url, "zh")
    wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, '[id*="110-0006"]'))).click()
    layout = dash_br.driver.execute_script("return JSON.stringify((window.store || window.dash_stores[0]).getState().layout)")
    assert '"type":"Interval"' not in layout and '"id":"dispatch-config"' in layout
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-head h2"), "110-0006"))
    wait.until(lambda d: d.execute_script("return window.qzRuntime.dispatch.shown.incident") == "110-0006")
    before = dash_br.driver.execute_script(HISTORY)
    assert before >= 1  # the click itself is recorded: the measure works
    applied = dash_br.driver.execute_script("return window.qzRuntime.dispatch.applied")

    # a new call and a changed address arrive in the database: the page shows both by itself
    run_db(page_settings.database_url, seed_incident, "110-0077", priority=4, station="XH", type="noise")
    run_db(page_settings.database_url, lambda c: c.execute("UPDATE incidents SET address = '登云路 47 号' WHERE id = '110-0006'"))
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, '[id*="110-0077"]')))
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-head"), "登云路 47 号"))
    assert "登云路 47 号" in dash_br.driver.find_element(By.CSS_SELECTOR, '[id*="110-0006"]').text
    assert dash_br.driver.execute_script("return window.qzRuntime.dispatch.applied") > applied
    time.sleep(5)  # a few quiet polls
    assert dash_br.driver.execute_script(HISTORY) == before  # pushed, not recorded: a desk can stay open for days

    # the server away: the banner says since when; back: it goes by itself
    dash_br.driver.execute_script("""window.__qzFetch = window.fetch; window.fetch = function (url, opts) {
        return String(url).indexOf('/api/dispatch') >= 0 ? Promise.reject(new TypeError('network down'))
                                                         : window.__qzFetch(url, opts); };""")
    banner = (By.ID, "dispatch-banner")
    wait.until(EC.visibility_of_element_located(banner))
    assert dash_br.driver.find_element(*banner).text.startswith("连接中断，自 ")
    shot(dash_br, "11_connection_lost")
    dash_br.driver.execute_script("window.fetch = window.__qzFetch;")
    wait.until(EC.invisibility_of_element_located(banner))


# Live answers reach the page 3 s after the server gave them, and the detail callback starts 6 s late.
SLOW_PAGE = """const f = window.fetch; window.__qzLiveSent = 0;
window.fetch = function (url, opts) {
  const u = String(url), body = String((opts || {}).body || '');
  if (u.indexOf('/api/dispatch/live') >= 0) {
    window.__qzLiveSent++;
    return f(url, opts).then(function (r) { return new Promise(function (ok) { setTimeout(ok, 3000, r); }); });
  }
  if (u.indexOf('_dash-update-component') >= 0 && body.indexOf('dispatch-detail-shown') >= 0) {
    return new Promise(function (ok) { setTimeout(ok, 6000); }).then(function () { return f(url, opts); });
  }
  return f(url, opts);
};"""


def test_a_live_answer_drawn_for_the_old_selection_never_undoes_a_new_one(dash_br, dashboard_url: str,
                                                                        page_settings: Settings) -> None:
    """The race behind a rare 'no card selected': a call arrives, a live request goes out (around the
    incident selected then), another incident is clicked, the queue callback draws it selected, and the
    live answer lands while the detail callback is still running. Drawn, it put the old selection back in
    the queue, with the token the callbacks were about to report, so it stayed."""
    wait = open_page(dash_br, dashboard_url, "zh")
    wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, '[id*="110-0004"]'))).click()
    wait.until(lambda d: d.execute_script("return window.qzRuntime.dispatch.shown.incident") == "110-0004")
    selected = lambda d: d.execute_script(  # read at once: the queue is redrawn under the reader
        "return Array.from(document.querySelectorAll('.dp-queue .dp-card.selected'), e => e.id)")
    dash_br.driver.execute_script(SLOW_PAGE)
    run_db(page_settings.database_url, seed_incident, "110-0078", priority=4, station="XH", type="noise")
    sent = dash_br.driver.execute_script("return window.__qzLiveSent")
    wait.until(lambda d: d.execute_script("return window.__qzLiveSent") > sent)  # asked after the call came in
    dash_br.driver.find_element(By.CSS_SELECTOR, '[id*="110-0002"]').click()
    wait.until(lambda d: any("110-0002" in i for i in selected(d)))       # the queue callback drew it
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".dp-head h2"), "110-0002"))  # then the detail
    sent = dash_br.driver.execute_script("return window.__qzLiveSent")
    wait.until(lambda d: d.execute_script("return window.__qzLiveSent") >= sent + 2)  # two more polls
    assert dash_br.driver.find_elements(By.CSS_SELECTOR, '[id*="110-0078"]')  # the new call is in the queue
    [card] = selected(dash_br.driver)
    assert "110-0002" in card, card
