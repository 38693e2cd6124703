"""/duty in real headless Chromium with a hotspot target: the plan lists a move to the hotspot beside the
zone move; ticking only the hotspot move sends one `patrol` to the cell's centre."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import h3
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from auth_helpers import browser_login
from bench.services import dashboard_process
from dispatch_fixtures import Listener, run_db
from duty_fixtures import HOT, seed_hotspot_district
from qingzhi.config import Settings

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
pytestmark = pytest.mark.browser


@pytest.fixture
def hotspot_dashboard(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The dashboard on a district whose Z0 (level III) holds an uncovered hotspot."""
    run_db(settings.database_url, seed_hotspot_district)
    env = {k: v for k, v in settings.model_dump().items() if v is not None}
    with dashboard_process(tmp_path / "dashboard.log", **env) as url:
        yield url


def test_a_hotspot_move_on_the_page_is_applied_as_a_patrol_to_the_cell(dash_br, hotspot_dashboard: str,
                                                                       settings: Settings) -> None:
    driver = dash_br.driver
    browser_login(driver, hotspot_dashboard, settings.database_url, "commander", ["S1"], name="cmdr.s1")
    driver.get(f"{hotspot_dashboard}/duty?lang=en")
    wait = WebDriverWait(driver, 30)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".duty-move")) == 2)
    labels = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".duty-move")]
    assert any(f"Z0 → Z0 热点 {HOT}" in m and "(III)" in m for m in labels), labels
    assert "1 to hotspots" in driver.find_element(By.CSS_SELECTOR, ".duty-totals").text
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".duty-map canvas"))
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "duty_hotspot_plan.png"))
    boxes = driver.find_elements(By.CSS_SELECTOR, "#duty-moves label")
    for box, label in zip(boxes, labels):
        if "热点" not in label:
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

