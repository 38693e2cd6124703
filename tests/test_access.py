"""Access control as an outsider, a wall screen and another station's commander would meet it:
every route and callback of the app itself refused without a login, roles and station scope
decided on the server, CSRF, host, headers, body size, brute force, logout."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import dash
import pytest
from auth_helpers import PASSWORD, form_csrf, login, login_client, make_user

from bench.fleet import seed_district
from dashboard.app import create_app
from db_helpers import with_conn as sql
from qingzhi.config import Settings
from qingzhi.core import accounts

JSON = {"Accept": "application/json"}
ACK_KEY = '..{"alert":["MATCH"],"type":"live-ack"}.children...{"alert":["MATCH"],"type":"live-ack"}.disabled..'


@pytest.fixture
def app(settings: Settings) -> Iterator[dash.Dash]:
    """The dashboard on a seeded two-station district (ST01, ST02) with an open alert at each station."""
    sql(settings.database_url, lambda c: seed_district(c, units=20, stations=2, incidents=6))
    sql(settings.database_url, lambda c: c.execute(
        """INSERT INTO alerts (ts, kind, severity, subject, unit, station)
           SELECT now(), 'cam_fault', 2, id, id, station FROM (SELECT DISTINCT ON (station) id, station FROM units
                                                            ORDER BY station, id) u"""))
    got = create_app(settings)
    yield got
    got.server.extensions["qingzhi"].db.close()


def alert_of(url: str, station: str) -> int:
    return sql(url, lambda c: c.fetchval("SELECT id FROM alerts WHERE station = $1", station))


def ack_body(alert: int) -> dict:
    """What dash-renderer posts when the acknowledge button of `alert` is clicked."""
    bid = {"alert": alert, "type": "live-ack"}
    return {"output": ACK_KEY, "outputs": [{"id": bid, "property": "children"}, {"id": bid, "property": "disabled"}],
            "inputs": [{"id": bid, "property": "n_clicks", "value": 1}],
            "state": [{"id": bid, "property": "id", "value": bid}, {"id": "app-lang", "property": "data", "value": "en"}],
            "changedPropIds": [json.dumps(bid, separators=(",", ":"), sort_keys=True) + ".n_clicks"]}


def test_every_route_page_and_callback_is_refused_without_login(app: dash.Dash) -> None:
    """Collected from the app itself (URL map, page registry, callback map): a new one cannot be missed."""
    client = app.server.test_client()
    public = ("/login", "/health", "/assets/", "/_dash-component-suites/", "/_favicon.ico")
    checked = 0
    for rule in app.server.url_map.iter_rules():
        path = rule.rule.replace("<path:path>", "dispatch").replace("<path:filename>", "x.js")
        path = path.replace("<string:package_name>", "dash").replace("<path:fingerprinted_path>", "x.js")
        if path.startswith(public):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            got = client.open(path, method=method, headers=JSON, json={})
            page = method == "GET" and not path.startswith(("/api/", "/_dash-", "/_reload-hash"))
            if page:   # a page (or file) asked for without a session: to the login form
                assert got.status_code == 302 and got.location.startswith("/login?next="), (method, path)
            else:
                assert got.status_code == 401, (method, path, got.status_code)
            checked += 1
    for page in dash.page_registry.values():
        got = client.get(page["path"])
        assert got.status_code == 302 and got.location.startswith("/login?next="), page["path"]
    for key in app.callback_map:
        got = client.post("/_dash-update-component", json={"output": key, "inputs": [], "state": []})
        assert got.status_code == 401, key
    assert checked >= 8 and len(app.callback_map) >= 20
    assert client.get("/health").status_code in (200, 503) and client.get("/login").status_code == 200


def test_a_wall_account_reads_the_map_but_cannot_dispatch_or_acknowledge(app: dash.Dash, settings: Settings) -> None:
    wall = login_client(app, "wall")
    assert wall.get("/api/live/units?since=0").status_code == 200
    assert wall.get("/dispatch", headers={"Accept": "text/html"}).status_code == 403
    assert wall.get("/api/dispatch/live").status_code == 403
    dispatch_key = next(k for k in app.callback_map if "dispatch-head.children" in k)
    assert wall.post("/_dash-update-component", json={"output": dispatch_key, "inputs": [], "state": []}).status_code == 403
    alert = alert_of(settings.database_url, "ST01")
    got = wall.post("/_dash-update-component", json=ack_body(alert))     # the live page's own callback: the action says no
    assert got.status_code == 403 and "may not alert.ack" in got.get_json()["error"]
    assert sql(settings.database_url, lambda c: c.fetchval("SELECT acked_by FROM alerts WHERE id = $1", alert)) is None
    commander = login_client(app, "commander")
    done = commander.post("/_dash-update-component", json=ack_body(alert))
    assert done.status_code == 200 and "Acknowledged by commander-" in done.get_data(as_text=True)


def test_a_station_commander_sees_and_commands_only_their_station(app: dash.Dash, settings: Settings) -> None:
    west = login_client(app, "commander", ["ST01"])
    rows = west.get("/api/live/units?since=0").get_json()["rows"]
    assert rows and {r[0].split("-")[0] for r in rows} == {"ST01"}      # call signs are ST0n-…
    assert west.get("/api/live/units?since=0&station=ST02").status_code == 403
    other = sql(settings.database_url, lambda c: c.fetchval("SELECT id FROM incidents WHERE station = 'ST02' LIMIT 1"))
    assert west.get(f"/api/dispatch/live?incident={other}").status_code == 403
    queue = json.dumps(west.get("/api/dispatch/live").get_json(), ensure_ascii=False)
    assert other not in queue
    assert west.post("/_dash-update-component", json=ack_body(alert_of(settings.database_url, "ST02"))).status_code == 403
    assert west.post("/_dash-update-component", json=ack_body(alert_of(settings.database_url, "ST01"))).status_code == 200


def test_state_changing_requests_need_the_csrf_token(app: dash.Dash, settings: Settings) -> None:
    client = login_client(app, "commander")
    alert = alert_of(settings.database_url, "ST01")
    client.environ_base.pop("HTTP_X_CSRFTOKEN")
    assert client.post("/_dash-update-component", json=ack_body(alert)).status_code == 403
    got = client.post("/_dash-update-component", json=ack_body(alert), headers={"X-CSRFToken": "forged"})
    assert got.status_code == 403 and "CSRF" in got.get_json()["error"]
    assert sql(settings.database_url, lambda c: c.fetchval("SELECT acked_by FROM alerts WHERE id = $1", alert)) is None
    assert client.post("/logout").status_code == 403                      # not even a logout without it


def test_login_form_brute_force_redirects_and_cookies(app: dash.Dash, settings: Settings) -> None:
    name = make_user(settings.database_url, "analyst")
    client = app.server.test_client()
    form = client.get("/login").get_data(as_text=True)
    assert all(f'name="{f}"' in form for f in ("username", "password", "csrf"))
    assert client.post("/login", data={"username": name, "password": PASSWORD, "csrf": "x"}).status_code == 400
    for _ in range(accounts.FREE_FAILURES):
        wrong = login(client, name, "wrong password")
        assert wrong.status_code == 401 and "用户名或密码错误" in wrong.get_data(as_text=True)   # the form's language
    locked = login(client, name)
    assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= accounts.FIRST_LOCK_S
    assert f"请 {locked.headers['Retry-After']} 秒后再试" in locked.get_data(as_text=True)
    # going to an English page, the form and its refusal are in English
    english = client.get("/login?next=/dispatch%3Flang%3Den").get_data(as_text=True)
    assert 'lang="en"' in english and "User name" in english
    again = client.post("/login", data={"username": name, "password": "x", "csrf": form_csrf(english),
                                        "next": "/dispatch?lang=en"})
    assert again.status_code == 429 and "Too many failed logins" in again.get_data(as_text=True)
    sql(settings.database_url, lambda c: c.execute("DELETE FROM login_throttle"))
    fresh = app.server.test_client()
    token = form_csrf(fresh.get("/login?next=//evil.example/x").get_data(as_text=True))
    ok = fresh.post("/login", data={"username": name, "password": PASSWORD, "csrf": token, "next": "//evil.example/x"})
    assert ok.status_code == 303 and ok.location == "/analysis"           # never off-site
    cookies = ok.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("qz_session="))
    assert "HttpOnly" in session and "SameSite=Strict" in session
    assert any(c.startswith("_csrf_token=") and "SameSite=Strict" in c for c in cookies)
    log = sql(settings.database_url, lambda c: c.fetch(
        "SELECT action, details->>'address' AS a FROM audit_log WHERE actor = $1 ORDER BY id", name))
    # and the English try while locked
    assert [r["action"] for r in log].count("login.failure") == accounts.FREE_FAILURES + 2
    assert log[-1]["action"] == "login.success" and log[-1]["a"] == "127.0.0.1"


def test_host_headers_body_limit_and_logout(app: dash.Dash) -> None:
    client = login_client(app, "admin")
    assert client.get("/api/live/units", headers={"Host": "evil.example"}).status_code == 400
    got = client.get("/api/live/units?since=0")
    csp = got.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style")[0]
    assert got.headers["X-Frame-Options"] == "DENY" and got.headers["X-Content-Type-Options"] == "nosniff"
    assert client.post("/_dash-update-component", data=b"x" * (2 * 1024 * 1024),
                       content_type="application/json").status_code == 413
    assert client.post("/logout").status_code == 303
    assert client.get("/api/live/units?since=0").status_code == 401       # the session is gone on the server


def test_error_bodies_reveal_no_internals(app: dash.Dash, settings: Settings) -> None:
    client = login_client(app, "admin")
    sql(settings.database_url, lambda c: c.execute("ALTER TABLE units RENAME TO units_gone"))
    got = client.get("/api/live/units?since=0")
    body = got.get_data(as_text=True)
    assert got.status_code >= 500 and "postgresql://" not in body and "127.0.0.1" not in body and "Traceback" not in body


def audit_body(app: dash.Dash, output: str, trigger: str, **filters: str | None) -> dict:
    """What dash-renderer posts for the audit page's search or export."""
    key = next(k for k in app.callback_map if output in k)
    state = [{"id": i, "property": "value", "value": filters.get(i.split("-")[1])}
             for i in ("audit-actor", "audit-action", "audit-incident")]
    state += [{"id": "audit-from", "property": "date", "value": None}, {"id": "audit-to", "property": "date", "value": None}]
    state.append({"id": "app-lang", "property": "data", "value": "en"})
    first = {"id": "audit-table", "property": "data"} if output == "audit-table.data" else \
        {"id": "audit-download", "property": "data"}
    outputs = [first, {"id": "audit-count", "property": "children"}]
    return {"output": key, "outputs": outputs, "inputs": [{"id": trigger, "property": "n_clicks", "value": 1}],
            "state": state, "changedPropIds": [f"{trigger}.n_clicks"]}


def test_admins_search_and_export_the_audit_log_and_the_export_is_audited(app: dash.Dash, settings: Settings) -> None:
    sql(settings.database_url, lambda c: c.execute(
        "INSERT INTO audit_log (actor, action, incident) VALUES ('li', 'dispatch.assign', '=HYPERLINK(\"http://x\")')"))
    commander = login_client(app, "commander")
    assert commander.get("/audit", headers={"Accept": "text/html"}).status_code == 403
    assert commander.post("/_dash-update-component",
                          json=audit_body(app, "audit-table.data", "audit-search")).status_code == 403
    admin = login_client(app, "admin")
    found = admin.post("/_dash-update-component", json=audit_body(app, "audit-table.data", "audit-search", action="dispatch"))
    rows = found.get_json()["response"]["audit-table"]["data"]
    assert found.status_code == 200 and [r["action"] for r in rows] == ["dispatch.assign"]
    got = admin.post("/_dash-update-component", json=audit_body(app, "audit-download.data", "audit-export", actor="li"))
    content = got.get_json()["response"]["audit-download"]["data"]["content"]
    assert "'=HYPERLINK" in content and "\n=HYPERLINK" not in content.replace("'=", "")  # never a formula
    [entry] = sql(settings.database_url, lambda c: c.fetch("SELECT actor, details FROM audit_log WHERE action = 'export'"))
    assert entry["actor"].startswith("admin-") and json.loads(entry["details"])["what"] == "audit"


def test_the_page_exports_every_matching_entry_or_says_why_it_cannot(app: dash.Dash, settings: Settings,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """More entries than the table shows (and than one read takes) all go into the file, oldest first, once each;
    past EXPORT_MAX nothing is exported and the page says how to get them."""
    from dashboard.audit import callbacks
    from qingzhi.core.audit import ROWS_MAX
    n = ROWS_MAX + 7
    sql(settings.database_url, lambda c: c.executemany(
        "INSERT INTO audit_log (actor, action, details) VALUES ('li', 'test.filler', $1::jsonb)",
        [(json.dumps({"k": k}),) for k in range(n)]))
    admin = login_client(app, "admin")
    got = admin.post("/_dash-update-component", json=audit_body(app, "audit-download.data", "audit-export", action="test"))
    answer = got.get_json()["response"]
    rows = list(csv.DictReader(io.StringIO(answer["audit-download"]["data"]["content"].lstrip("\ufeff"))))
    assert got.status_code == 200 and answer["audit-count"]["children"] == f"Exported {n} entries (oldest first)"
    assert [json.loads(r["details"])["k"] for r in rows] == list(range(n))
    [entry] = sql(settings.database_url, lambda c: c.fetch("SELECT details FROM audit_log WHERE action = 'export'"))
    assert json.loads(entry["details"])["rows"] == n
    monkeypatch.setattr(callbacks, "EXPORT_MAX", n - 1)
    refused = admin.post("/_dash-update-component", json=audit_body(app, "audit-download.data", "audit-export")).get_json()
    assert "audit-download" not in refused["response"] and "qingzhi audit --export" in refused["response"]["audit-count"]["children"]
    assert sql(settings.database_url, lambda c: c.fetchval("SELECT count(*) FROM audit_log WHERE action = 'export'")) == 1


def test_watching_a_camera_is_audited_and_only_safe_links_are_followed(app: dash.Dash, settings: Settings) -> None:
    url = settings.database_url
    unit = sql(url, lambda c: c.fetchval("SELECT id FROM units WHERE station = 'ST01' ORDER BY id LIMIT 1"))
    other = sql(url, lambda c: c.fetchval("SELECT id FROM units WHERE station = 'ST02' ORDER BY id LIMIT 1"))
    sql(url, lambda c: c.execute("UPDATE units SET stream_url = 'https://media.example/live/a.m3u8' WHERE id = $1", unit))
    sql(url, lambda c: c.execute("UPDATE units SET stream_url = 'javascript:alert(1)' WHERE id = $1", other))
    west = login_client(app, "commander", ["ST01"])
    got = west.get(f"/api/live/stream/{unit}")
    assert got.status_code == 302 and got.location == "https://media.example/live/a.m3u8"
    [entry] = sql(url, lambda c: c.fetch("SELECT actor, unit, details FROM audit_log WHERE action = 'stream.view'"))
    assert entry["actor"].startswith("commander-") and entry["unit"] == unit
    assert west.get(f"/api/live/stream/{other}").status_code == 403             # another station's camera
    assert login_client(app, "admin").get(f"/api/live/stream/{other}").status_code == 404   # not a link to follow
    assert west.get("/api/live/stream/NOBODY").status_code == 404
    assert app.server.test_client().get(f"/api/live/stream/{unit}").status_code == 401


def test_side_tab_lists_are_narrowed_to_the_scope(app: dash.Dash, settings: Settings) -> None:
    """Repeat flags and follow-up tasks (dashboard/dispatch/views.in_scope) for a station commander."""
    from auth_helpers import session_cookie

    from dashboard.dispatch.views import in_scope
    rows = [{"station": "ST01", "n": 1}, {"station": "ST02", "n": 2}, {"station": None, "n": 3}]
    west = session_cookie(settings.database_url, make_user(settings.database_url, "commander", ["ST01"]))
    every = session_cookie(settings.database_url, make_user(settings.database_url, "commander"))
    with app.server.test_request_context(headers={"Cookie": west}):
        assert in_scope(rows) == [{"station": "ST01", "n": 1}]
    with app.server.test_request_context(headers={"Cookie": every}):
        assert in_scope(rows) == rows
