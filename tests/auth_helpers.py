"""Logging in from tests: an account of a role, a Flask test client or a Chromium session that used /login."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import asyncpg
from flask.testing import FlaskClient

from qingzhi.core import accounts, sessions
from qingzhi.core.actor import Actor

PASSWORD = "test password, long enough"


def make_user(database_url: str, role: str, stations: list[str] | None = None, name: str | None = None) -> str:
    """Create an account (as the system) and return its name; a named one may exist already."""
    name = name or f"{role}-{uuid.uuid4().hex[:8]}"

    async def go() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            if not await conn.fetchval("SELECT true FROM users WHERE name = $1", name):
                await accounts.add(Actor.system("test"), conn, name, role, stations, PASSWORD)
        finally:
            await conn.close()
    asyncio.run(go())
    return name


def session_cookie(database_url: str, name: str) -> str:
    """A `Cookie` header of a new session of an existing account (to call callbacks directly)."""
    async def go() -> str:
        conn = await asyncpg.connect(database_url)
        try:
            row = await conn.fetchrow("SELECT name, role, stations, disabled FROM users WHERE name = $1", name)
            token, _ = await sessions.start(conn, accounts.user_from_row(row), "127.0.0.1", 3600)
            return f"qz_session={token}"
        finally:
            await conn.close()
    return asyncio.run(go())


def form_csrf(html: str) -> str:
    """The hidden CSRF token of the login form."""
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(client: FlaskClient, name: str, password: str = PASSWORD) -> Any:
    """Post the login form as a browser would (form token and its cookie); the response."""
    token = form_csrf(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": name, "password": password, "csrf": token})


def server_of(app: Any) -> Any:
    """The Flask server of a Dash app (or the server itself)."""
    return getattr(app, "server", app)


def login_client(app: Any, role: str = "admin", stations: list[str] | None = None) -> FlaskClient:
    """A test client logged in with a new account of `role`, sending the CSRF header like dash-renderer."""
    server = server_of(app)
    name = make_user(server.extensions["qingzhi"].settings.database_url, role, stations)
    client = server.test_client()
    assert login(client, name).status_code == 303
    client.environ_base["HTTP_X_CSRFTOKEN"] = client.get_cookie("_csrf_token").value
    return client


def browser_login(driver: Any, base_url: str, database_url: str, role: str = "admin",
                  stations: list[str] | None = None, name: str | None = None) -> str:
    """Log Chromium in through the /login form (a new account, or `name`); returns the account name."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    name = make_user(database_url, role, stations, name)
    driver.get(base_url.rstrip("/") + "/login")
    driver.find_element(By.NAME, "username").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 15).until(ec.url_changes(base_url.rstrip("/") + "/login"))
    return name


def start_logged_in(dash_duo: Any, app: Any, role: str, *, port: int, name: str | None = None,
                    stations: list[str] | None = None) -> str:
    """dash_duo.start_server, but through /login first (the app's own page needs a session)."""
    dash_duo.start_server(app, navigate=False, port=port)
    name = browser_login(dash_duo.driver, dash_duo.server.url, server_of(app).extensions["qingzhi"].settings.database_url,
                         role, stations, name)
    dash_duo.server_url = dash_duo.server.url      # loads "/" and waits for Dash, now logged in
    return name


def severe_logs(browser: Any) -> list:
    """Browser errors other than the unreachable tile server (this machine has no internet)."""
    return [e for e in browser.get_logs() if "tile.openstreetmap.org" not in e["message"]]
