"""The web dashboard as a logged-in attacker or a sloppy client would drive it, beyond test_access.py: login
redirects that leave the site by a browser quirk, callback requests the gate cannot read, values PostgreSQL
cannot hold, forged row ids, and action input of the wrong type or size. Each must be a one-line refusal (4xx
or a message), never a 500 and never a write."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import dash
import h3.api.basic_int as h3
import pytest
from auth_helpers import PASSWORD, form_csrf, login_client, make_user

from bench.fleet import seed_district
from dashboard.analysis import queries as q
from db_helpers import with_conn as sql
from dispatch_fixtures import app_context
from qingzhi.config import Settings
from qingzhi.core import alert_rules, incident_actions
from qingzhi.core.briefing.tasks import complete_task
from qingzhi.core.actor import Actor
from qingzhi.core.dispatch_config import DAY_S, DispatchConfig, load_config, save_setting
from qingzhi.errors import QingzhiError
from test_access import ack_body, app  # noqa: F401  (app: the seeded two-station dashboard)

ADMIN = Actor("tester", screen="test", role="admin")
FORM = {"tz": "Asia/Shanghai", "caller_key": "k", "lat": 30.27, "lon": 120.15, "type": "theft", "priority": 3}


def test_login_next_with_whitespace_or_control_characters_stays_on_the_site(app: dash.Dash,
                                                                              settings: Settings) -> None:
    """Browsers drop tabs and newlines inside a URL: "/<TAB>/evil.example" would be "//evil.example"."""
    name = make_user(settings.database_url, "analyst")
    for target, expected in (("/\t/evil.example", "/analysis"), ("/\r\n/evil.example", "/analysis"),
                             ("/ /evil.example", "/analysis"), ("/\u202e/x", "/analysis"),
                             ("/search?q=1&x=2", "/search?q=1&x=2")):
        client = app.server.test_client()
        token = form_csrf(client.get("/login").get_data(as_text=True))
        got = client.post("/login", data={"username": name, "password": PASSWORD, "csrf": token, "next": target})
        assert got.status_code == 303 and got.headers["Location"] == expected, repr(target)
    # the gate's own detour keeps the whole address, & included, as one parameter
    sent = app.server.test_client().get("/search?q=1&x=2", headers={"Accept": "text/html"})
    assert sent.status_code == 302 and parse_qs(urlsplit(sent.location).query)["next"] == ["/search?q=1&x=2"]


def test_callback_requests_the_gate_cannot_read_are_refused(app: dash.Dash) -> None:
    client = login_client(app, "admin")
    bodies = [{"output": ["x"]}, {"output": {"a": 1}},
              {"output": "_pages_content.children", "inputs": [{"property": "pathname", "value": ["/"]}]},
              {"output": "_pages_content.children", "inputs": [{"property": "pathname", "value": "no-slash"}]}]
    for body in bodies:
        got = client.post("/_dash-update-component", json=body)
        assert got.status_code == 403 and got.get_json() == {"error": "not allowed"}, body


def test_values_postgresql_cannot_hold_are_400_not_a_database_outage(app: dash.Dash) -> None:
    client = login_client(app, "admin")
    for path in ("/api/live/units?station=ST01%00", "/api/live/panel?station=%00", "/api/dispatch/live?incident=a%00b",
                 "/api/live/cameras?incident=%00", "/api/live/stream/%00"):
        got = client.get(path)
        assert got.status_code == 400 and "NUL" in got.get_json()["error"], path
    assert client.post("/api/live/stream/%00").status_code == 400
    assert client.get("/api/live/units?station=ST01").status_code == 200      # nothing else was hurt


def test_forged_alert_ids_are_refused_in_one_line_and_acknowledge_nothing(app: dash.Dash, settings: Settings) -> None:
    client = login_client(app, "commander")
    alert = sql(settings.database_url, lambda c: c.fetchval("SELECT min(id) FROM alerts"))
    for forged in ("abc", None, 2 ** 70, [alert], 1.5, True):
        body = ack_body(alert)
        body["state"][0]["value"] = {"alert": forged, "type": "live-ack"}
        got = client.post("/_dash-update-component", json=body)
        assert got.status_code == 200, forged
        assert "not a alert id" in json.dumps(got.get_json()["response"]), forged
    assert sql(settings.database_url, lambda c: c.fetchval("SELECT count(*) FROM alerts WHERE acked_at IS NOT NULL")) == 0
    body = ack_body(alert)
    body["state"][0]["value"] = {"alert": str(alert), "type": "live-ack"}      # digits as text are still an id
    assert "Acknowledged by" in client.post("/_dash-update-component", json=body).get_data(as_text=True)


def form_body(app: dash.Dash, where: object, priority: object) -> dict:
    """What dash-renderer posts when the new-incident form is submitted with this map pick and priority."""
    key = next(k for k in app.callback_map if k.startswith("..dispatch-msg.children@")
               and any(i["id"] == "dispatch-form-submit" for i in app.callback_map[k]["inputs"]))
    values = {"dispatch-click": where, "dispatch-form-type": "theft", "dispatch-form-priority": priority,
              "dispatch-form-address": "Wensan Rd", "dispatch-form-summary": None, "dispatch-form-caller": None,
              "app-lang": "en"}
    state = [{"id": s["id"], "property": s["property"], "value": values[s["id"]]} for s in app.callback_map[key]["state"]]
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1].split("@")[0]}
               for o in key.strip(".").split("...")]
    return {"output": key, "outputs": outputs, "state": state, "changedPropIds": ["dispatch-form-submit.n_clicks"],
            "inputs": [{"id": "dispatch-form-submit", "property": "n_clicks", "value": 1}]}


def test_the_new_incident_form_refuses_forged_values_with_a_message(app: dash.Dash, settings: Settings) -> None:
    client = login_client(app, "commander")
    before = sql(settings.database_url, lambda c: c.fetchval("SELECT count(*) FROM incidents"))
    for where, priority, why in (("abc", 3, "Click the map"), ({"lat": "30.27", "lon": 120.15}, 3, "not numbers"),
                                 ({"lat": 30.27, "lon": 120.15}, None, "priority must be 1 to 4"),
                                 ({"lat": 30.27, "lon": 120.15}, 1.5, "priority must be 1 to 4")):
        got = client.post("/_dash-update-component", json=form_body(app, where, priority))
        assert got.status_code == 200 and why in got.get_data(as_text=True), (where, priority)
    assert sql(settings.database_url, lambda c: c.fetchval("SELECT count(*) FROM incidents")) == before


def test_hand_entered_incident_text_is_checked_before_anything_is_written(settings: Settings) -> None:
    with app_context(settings) as ctx:
        ctx.db.run(lambda c: seed_district(c, units=2, stations=1, incidents=1))
        for field, value in (("address", "x" * 4001), ("summary", "a\x00b"), ("caller", ["138"]),
                             ("address", "Wensan Rd \u202e09"), ("type", ["theft"])):
            with pytest.raises(QingzhiError, match=field):
                ctx.db.act(incident_actions.create_incident, ADMIN, **{**FORM, field: value})
        made = ctx.db.act(incident_actions.create_incident, ADMIN, **{**FORM, "address": "  Wensan Rd 90\n"})
        assert ctx.db.run(lambda c: c.fetchval("SELECT address FROM incidents WHERE id = $1", made)) == "Wensan Rd 90"
        for reason in ("x\x00", "y" * 201, 5):
            with pytest.raises(QingzhiError, match="reason for cancelling"):
                ctx.db.act(incident_actions.cancel, ADMIN, made, reason=reason)
        assert ctx.db.run(lambda c: c.fetchval("SELECT state FROM incidents WHERE id = $1", made)) == "received"


def test_settings_that_would_break_the_duty_loop_or_the_ranking_are_refused(settings: Settings) -> None:
    """The duty loop hands these seconds to PostgreSQL as int4; a speed of 0 or less, or an infinite ratio,
    would silently rank units wrongly or switch a rule off."""
    with app_context(settings) as ctx:
        for key, value in (("ack_timeout_s", 2 ** 31), ("ack_timeout_s", DAY_S + 1),
                           ("overdue", {"1": {"assign_s": 2 ** 40, "on_scene_s": 300}}),
                           ("speed_kmh", {"car": -5}), ("speed_kmh", {"car": 0}), ("speed_kmh", {"car": float("nan")}),
                           ("repeat_caller", {"ratio": float("inf")})):
            with pytest.raises(QingzhiError, match=f"bad dispatch setting {key}"):
                ctx.db.act(save_setting, ADMIN, key, value)
        assert ctx.db.run(load_config) == DispatchConfig()
        ctx.db.act(save_setting, ADMIN, "ack_timeout_s", DAY_S)              # the longest allowed still runs
        assert ctx.db.run(alert_rules.ack_timeouts, ctx.db.run(load_config)) == 0


def test_a_forged_task_id_is_refused_by_the_action(settings: Settings) -> None:
    with app_context(settings) as ctx:
        for forged in ("abc", None, 2 ** 63, -1, [1]):
            with pytest.raises(QingzhiError, match="not a task id"):
                ctx.db.act(complete_task, ADMIN, forged, result="done")


def cell_body(app: dash.Dash, cell: int, stations: list[str]) -> dict:
    """What dash-renderer posts when a hexagon of the analysis map is clicked, with these station filters."""
    key = next(k for k in app.callback_map if k.startswith("..an-cell.data"))
    zone = ZoneInfo(app.server.extensions["qingzhi"].settings.timezone)  # the day the incident is counted in
    today = dt.datetime.now(zone).date().isoformat()
    values = {"an-top.derived_viewport_data": None, "an-res.value": "9", "an-map.zoom": 12, "app-lang.data": "en",
              "an-filters.data": {"start": today, "end": today, "stations": stations, "types": [], "categories": [],
                                  "priorities": [], "compare": "previous"}}
    cb = app.callback_map[key]
    state = [{**s, "value": values[f"{s['id']}.{s['property']}"]} for s in cb["state"]]
    outputs = [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in key.strip(".").split("...")]
    return {"output": key, "outputs": outputs, "state": state, "changedPropIds": ["an-hex.clickData"],
            "inputs": [{"id": "an-hex", "property": "clickData", "value": {"properties": {"cell": cell}}},
                       {"id": "an-top", "property": "active_cell", "value": None}]}


def test_a_station_account_analyses_only_its_stations(app: dash.Dash, settings: Settings) -> None:
    """The incident list of a hexagon names incidents and addresses: another station's are not shown."""
    url = settings.database_url
    sql(url, lambda c: c.execute("""INSERT INTO incidents (id, ts, lat, lon, type, category, priority, station, address)
                                    VALUES ('W1', now(), 30.27, 120.15, 'theft', 'theft', 3, 'ST01', 'West Rd 1'),
                                           ('E1', now(), 30.27, 120.15, 'theft', 'theft', 3, 'ST02', 'East Rd 2')"""))
    sql(url, lambda c: q.ensure_fresh(c, settings.timezone))
    cell = h3.latlng_to_cell(30.27, 120.15, 9)
    west = login_client(app, "analyst", ["ST01"])
    shown = west.post("/_dash-update-component", json=cell_body(app, cell, []))
    rows = shown.get_json()["response"]["an-cell"]["data"]
    assert shown.status_code == 200 and [r["id"] for r in rows] == ["W1"]
    assert west.post("/_dash-update-component", json=cell_body(app, cell, ["ST02"])).status_code == 403
    every = login_client(app, "analyst").post("/_dash-update-component", json=cell_body(app, cell, []))
    assert sorted(r["id"] for r in every.get_json()["response"]["an-cell"]["data"]) == ["E1", "W1"]
