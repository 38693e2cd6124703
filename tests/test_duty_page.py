"""/duty in real headless Chromium against `qingzhi dashboard` in its own process: a station's
commander raises a zone's level, sees the plan, unticks one move, applies, sees exactly one `patrol`
command on the broker and its acknowledgement on the page; with an uncovered hotspot, the plan lists a move
to it beside the zone move, and ticking only that one sends one `patrol` to the cell's centre."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import h3
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from auth_helpers import browser_login
from dispatch_fixtures import Listener, run_db, write_ack
from duty_fixtures import HOT, seed_hotspot_district, seeded_dashboard, two_stations
from qingzhi.config import Settings

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# The page redraws its panels on a timer: an element found a moment ago may be gone when its text is read.
REDRAWN = (StaleElementReferenceException,)
pytestmark = pytest.mark.browser


@pytest.fixture
def dashboard_url(settings: Settings, tmp_path: Path) -> Iterator[str]:
    with seeded_dashboard(settings, tmp_path, two_stations) as url:
        yield url


def _texts(driver, css: str) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]


def test_raise_a_level_untick_one_move_apply_and_see_the_ack(dash_br, dashboard_url: str, settings: Settings) -> None:
    driver = dash_br.driver
    browser_login(driver, dashboard_url, settings.database_url, "commander", ["S1"], name="cmdr.s1")
    dash_br.server_url = dashboard_url
    driver.get(f"{dashboard_url}/duty?lang=en")
    wait = WebDriverWait(driver, 20, ignored_exceptions=REDRAWN)
    # at normal duty Z2 needs 1 and has none: one move
    wait.until(lambda d: len(_texts(d, ".duty-move")) == 1)
    dash_br.select_dcc_dropdown("#duty-target", value="Z2")
    driver.find_element(By.CSS_SELECTOR, "#duty-reason").send_keys("concert crowd leaving")
    driver.find_element(By.CSS_SELECTOR, "#duty-set").click()
    wait.until(lambda d: "level II" in d.find_element(By.CSS_SELECTOR, ".duty-msg").text)
    # Z2 (residential) needs 2 at level II: both come from Z0's surplus
    wait.until(lambda d: len(_texts(d, ".duty-move")) == 2)
    moves = _texts(driver, ".duty-move")
    assert all("Z0 → Z2" in m and "(II)" in m for m in moves), moves
    assert "II" in driver.find_element(By.CSS_SELECTOR, ".duty-levels").text
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".duty-map canvas"))   # zones and move lines (canvas)
    wait.until(lambda d: "This shift: street presence" in d.find_element(By.ID, "duty-presence").text)
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "duty_1_plan.png"))
    boxes = driver.find_elements(By.CSS_SELECTOR, "#duty-moves label")
    unticked = moves[0].split()[0]
    boxes[0].click()
    listener = Listener(settings.mqtt_url, f"{settings.topic_root}/#")
    try:
        driver.find_element(By.CSS_SELECTOR, "#duty-apply").click()
        wait.until(lambda d: "1 sent, 0 refused" in d.find_element(By.ID, "duty-apply-msg").text)
        topic, payload = listener.next()
        with pytest.raises(Exception):
            listener.next(timeout=1.0)
    finally:
        listener.close()
    assert payload["kind"] == "patrol" and payload["zone"] == "Z2" and payload["level"] == "II"
    assert payload["by"] == "cmdr.s1" and f"/{unticked}/" not in topic
    wait.until(lambda d: "waiting for ack" in d.find_element(By.CSS_SELECTOR, ".duty-sent").text)
    run_db(settings.database_url, write_ack, payload["id"], topic.split("/")[-2])
    wait.until(lambda d: "acknowledged" in d.find_element(By.CSS_SELECTOR, ".duty-sent").text)
    driver.save_screenshot(str(ARTIFACTS / "duty_2_acked.png"))


def test_a_station_commander_cannot_target_another_station(dash_br, dashboard_url: str, settings: Settings) -> None:
    run_db(settings.database_url, lambda c: c.execute(
        """INSERT INTO level_suggestions (scope, target, station, current, suggested, why) VALUES
           ('zone', 'Z3', 'S2', 4, 3, '盗窃上升 / +80 % theft since 18:00 against the 8-week median (9 vs 5)'),
           ('zone', 'Z0', 'S1', 4, 3, 'S1 only / S1 only')"""))
    driver = dash_br.driver
    browser_login(driver, dashboard_url, settings.database_url, "commander", ["S2"], name="cmdr.s2")
    dash_br.server_url = dashboard_url
    driver.get(f"{dashboard_url}/duty?lang=en")
    wait = WebDriverWait(driver, 20, ignored_exceptions=REDRAWN)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".duty-totals"))
    dash_br.select_dcc_dropdown("#duty-scope", value="District")
    driver.find_element(By.CSS_SELECTOR, "#duty-reason").send_keys("try the district")
    driver.find_element(By.CSS_SELECTOR, "#duty-set").click()
    wait.until(lambda d: "may not duty.act" in d.find_element(By.CSS_SELECTOR, ".duty-msg").text)
    assert run_db(settings.database_url, lambda c: c.fetchval("SELECT count(*) FROM alert_levels")) == 0
    # only S2's suggestion is shown, with its reason in words; accepting it sets the level
    wait.until(lambda d: "+80 % theft since 18:00" in d.find_element(By.ID, "duty-suggestions").text)
    assert "S1 only" not in driver.find_element(By.ID, "duty-suggestions").text
    driver.find_element(By.CSS_SELECTOR, "#duty-suggestions button.accept").click()
    wait.until(lambda d: "Zone Z3 is now level III" in d.find_element(By.ID, "duty-sugg-msg").text)
    assert run_db(settings.database_url, lambda c: c.fetchval("SELECT alert_level FROM zones WHERE id = 'Z3'")) == 3
    # the wall shows it
    browser_login(driver, dashboard_url, settings.database_url, "wall", name="wall.s2")
    driver.get(f"{dashboard_url}/wall?lang=en")
    WebDriverWait(driver, 40, ignored_exceptions=REDRAWN).until(
        lambda d: "Zone Z3 III" in d.find_element(By.ID, "wall-duty").text)
    assert "zones below their minimum" in driver.find_element(By.ID, "wall-duty").text
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "duty_3_wall.png"))


@pytest.fixture
def hotspot_dashboard(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The dashboard on a district whose Z0 (level III) holds an uncovered hotspot."""
    with seeded_dashboard(settings, tmp_path, seed_hotspot_district) as url:
        yield url


def test_a_hotspot_move_on_the_page_is_applied_as_a_patrol_to_the_cell(dash_br, hotspot_dashboard: str,
                                                                       settings: Settings) -> None:
    driver = dash_br.driver
    browser_login(driver, hotspot_dashboard, settings.database_url, "commander", ["S1"], name="cmdr.s1")
    driver.get(f"{hotspot_dashboard}/duty?lang=en")
    wait = WebDriverWait(driver, 30, ignored_exceptions=REDRAWN)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".duty-move")) == 2)
    labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".duty-move")]
    assert any(f"Z0 → Z0 hotspot {HOT}" in m and "(III)" in m for m in labels), labels
    assert "1 to hotspots" in driver.find_element(By.CSS_SELECTOR, ".duty-totals").text
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".duty-map canvas"))
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "duty_hotspot_plan.png"))
    boxes = driver.find_elements(By.CSS_SELECTOR, "#duty-moves label")
    for box, label in zip(boxes, labels):
        if "hotspot" not in label:
            box.click()                                   # untick the zone move
    listener = Listener(settings.mqtt_url, f"{settings.topic_root}/#")
    try:
        driver.find_element(By.CSS_SELECTOR, "#duty-apply").click()
        wait.until(lambda d: "1 sent, 0 refused" in d.find_element(By.ID, "duty-apply-msg").text)
        _, payload = listener.next()
    finally:
        listener.close()
    assert payload["kind"] == "patrol" and payload["zone"] == "Z0" and payload["level"] == "III"
    assert h3.latlng_to_cell(payload["lat"], payload["lon"], 9) == HOT and payload["by"] == "cmdr.s1"
    sent = run_db(settings.database_url, lambda c: c.fetchval("SELECT count(*) FROM commands"))
    assert sent == 1
    driver.save_screenshot(str(ARTIFACTS / "duty_hotspot_sent.png"))

