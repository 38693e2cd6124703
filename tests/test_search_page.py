"""/search in real headless Chromium: log in, type into the one box, open an incident's full trace;
the page and its callbacks refused to a role without `search.view`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import requests

from auth_helpers import PASSWORD, browser_login, form_csrf, make_user
from bench.services import dashboard_process
from conftest import _admin, db_url
from dispatch_fixtures import run_db, seed_city, seed_history
from qingzhi.config import Settings, load_settings

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def search_app(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """`qingzhi dashboard` in its own process on a seeded district."""
    name = f"qz_t_srch_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f"CREATE DATABASE {name} TEMPLATE {template_db}"))
    settings = load_settings(database_url=db_url(name))
    run_db(settings.database_url, seed_city)
    run_db(settings.database_url, seed_history)
    cfg = {k: v for k, v in settings.model_dump().items() if v is not None}
    with dashboard_process(tmp_path_factory.mktemp("search-dashboard") / "dashboard.log", **cfg) as url:
        yield url, settings
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def test_search_box_finds_and_opens_the_full_trace(dash_br, search_app: tuple[str, Settings]) -> None:
    url, settings = search_app
    browser_login(dash_br.driver, url, settings.database_url, "analyst", name="an.li")
    dash_br.server_url = url
    dash_br.driver.get(f"{url}/search?lang=en")
    wait = WebDriverWait(dash_br.driver, 20)
    box = wait.until(EC.visibility_of_element_located((By.ID, "search-text")))
    box.send_keys("文三路 90", Keys.ENTER)
    wait.until(EC.text_to_be_present_in_element((By.ID, "search-results"), "40 found"))
    results = dash_br.driver.find_element(By.ID, "search-results").text
    assert "H000" in results and "matched: address" in results
    dash_br.driver.find_element(By.XPATH, "//button[contains(@class,'sr-result')][.//b[text()='H000']]").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "search-trace"), "Full trace H000"))
    trace = dash_br.driver.find_element(By.ID, "search-trace").text
    for text in ("Received", "Assigned", "On scene", "Handled", "Closed"):
        assert text in trace, text
    ARTIFACTS.mkdir(exist_ok=True)
    dash_br.driver.save_screenshot(str(ARTIFACTS / "search_trace.png"))
    box.send_keys(Keys.CONTROL + "a")
    box.send_keys(Keys.DELETE)
    box.send_keys("'<img src=x onerror=alert(1)>", Keys.ENTER)  # markup is only text to search for
    wait.until(EC.text_to_be_present_in_element((By.ID, "search-results"), "No incidents found"))
    assert dash_br.driver.find_elements(By.CSS_SELECTOR, "#search-results img") == []


def test_search_is_refused_without_a_login_and_to_the_wall(search_app: tuple[str, Settings]) -> None:
    url, settings = search_app
    assert requests.get(f"{url}/search", allow_redirects=False, timeout=10).status_code in (302, 303)
    wall = requests.Session()
    name = make_user(settings.database_url, "wall")
    token = form_csrf(wall.get(f"{url}/login", timeout=10).text)
    assert wall.post(f"{url}/login", data={"username": name, "password": PASSWORD, "csrf": token},
                     allow_redirects=False, timeout=10).status_code == 303
    assert wall.get(f"{url}/search", allow_redirects=False, timeout=10).status_code == 403
