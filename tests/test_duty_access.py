"""The duty page's callbacks as a wall screen, an analyst and another station's commander would meet
them, with hostile input: refused by the gate or by the core action, nothing changed."""

from __future__ import annotations

from collections.abc import Iterator

import dash
import pytest
from auth_helpers import login_client

from db_helpers import with_conn as sql
from dispatch_fixtures import dashboard_app
from duty_fixtures import two_stations
from qingzhi.config import Settings


@pytest.fixture
def app(settings: Settings) -> Iterator[dash.Dash]:
    sql(settings.database_url, two_stations)
    with dashboard_app(settings) as got:
        yield got


def _key(app: dash.Dash, output: str) -> str:
    return next(k for k in app.callback_map if output in k)


def set_body(app: dash.Dash, scope: str, target: str | None, level: str, reason: str, hours: object = None) -> dict:
    """What dash-renderer posts when 'Set level' is clicked."""
    state = [("duty-scope", "value", scope), ("duty-target", "value", target), ("duty-level", "value", level),
             ("duty-reason", "value", reason), ("duty-hours", "value", hours), ("duty-version", "data", 0),
             ("app-lang", "data", "en")]
    return {"output": _key(app, "duty-set-msg.children"),
            "outputs": [{"id": "duty-set-msg", "property": "children"}, {"id": "duty-version", "property": "data"}],
            "inputs": [{"id": "duty-set", "property": "n_clicks", "value": 1}],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
            "changedPropIds": ["duty-set.n_clicks"]}


def apply_body(app: dash.Dash, ticked: list) -> dict:
    """What dash-renderer posts when 'Send the ticked moves' is clicked."""
    state = [("duty-moves", "value", ticked), ("duty-sent", "data", []), ("app-lang", "data", "en")]
    return {"output": _key(app, "duty-apply-msg.children"),
            "outputs": [{"id": "duty-apply-msg", "property": "children"}, {"id": "duty-sent", "property": "data"}],
            "inputs": [{"id": "duty-apply", "property": "n_clicks", "value": 1}],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
            "changedPropIds": ["duty-apply.n_clicks"]}


def _levels(settings: Settings) -> int:
    return sql(settings.database_url, lambda c: c.fetchval("SELECT count(*) FROM alert_levels"))


def test_a_wall_account_cannot_open_or_call_the_duty_page(app: dash.Dash, settings: Settings) -> None:
    wall = login_client(app, "wall")
    assert wall.get("/duty", headers={"Accept": "text/html"}).status_code == 403
    assert wall.post("/_dash-update-component", json=set_body(app, "zone", "Z0", "I", "x")).status_code == 403
    assert _levels(settings) == 0


def test_an_analyst_sees_the_plan_but_the_actions_refuse(app: dash.Dash, settings: Settings) -> None:
    analyst = login_client(app, "analyst")
    assert analyst.get("/duty", headers={"Accept": "text/html"}).status_code == 200
    got = analyst.post("/_dash-update-component", json=set_body(app, "zone", "Z0", "I", "x"))
    assert got.status_code == 200 and "may not duty.act" in got.get_data(as_text=True)
    got = analyst.post("/_dash-update-component", json=apply_body(app, ["A1|Z2"]))
    assert "may not duty.act" in got.get_data(as_text=True)
    assert _levels(settings) == 0
    assert sql(settings.database_url, lambda c: c.fetchval("SELECT count(*) FROM commands")) == 0


@pytest.mark.parametrize("scope, target, level, reason, hours, message", [
    ("zone", "Z3", "I", "other station", None, "may not duty.act at station S2"),
    ("district", None, "I", "district", None, "may not duty.act"),
    ("zone", "Z0", "V", "bad level", None, "unknown level"),
    ("zone", "Z0", "I", "", None, "needs a reason"),
    ("zone", "Z0", "I", "<img src=x onerror=alert(1)>" * 30, None, "1 to 500 characters of plain text"),
    ("zone", "Z0", "I", "absurd hours", 1e9, "hours must be between"),
    ("zone", "Z0", "I", "text hours", "soon", "could not convert"),
    ("planet", "Z0", "I", "bad scope", None, "unknown scope"),
])
def test_a_station_commander_with_hostile_input_changes_nothing(app: dash.Dash, settings: Settings, scope: str,
                                                                target: str | None, level: str, reason: str,
                                                                hours: object, message: str) -> None:
    west = login_client(app, "commander", ["S1"])
    got = west.post("/_dash-update-component", json=set_body(app, scope, target, level, reason, hours))
    assert got.status_code == 200 and message in got.get_data(as_text=True), got.get_data(as_text=True)[:300]
    assert _levels(settings) == 0


def test_apply_with_hostile_moves_sends_nothing_for_them(app: dash.Dash, settings: Settings) -> None:
    west = login_client(app, "commander", ["S1"])
    for nothing in ([], ["no-separator"]):  # a click with nothing (usable) ticked says so
        none = west.post("/_dash-update-component", json=apply_body(app, nothing))
        assert none.status_code == 200 and "Tick what to send first" in none.get_data(as_text=True)
    hostile = ["C1|Z3", "C2|Z2", "A1|'; DROP TABLE units; --", "no-separator", "A2|Z0"]
    not_text = west.post("/_dash-update-component", json=apply_body(app, [*hostile, 42]))
    assert not_text.status_code == 400 and "ticked[5]" in not_text.get_json()["error"]  # the browser sends text
    got = west.post("/_dash-update-component", json=apply_body(app, hostile))
    body = got.get_data(as_text=True)
    assert got.status_code == 200 and "0 sent, 4 refused" in body, body[:300]
    twice = west.post("/_dash-update-component", json=apply_body(app, ["A1|Z1", "A1|Z2"]))
    assert "a unit appears in more than one move" in twice.get_data(as_text=True)
    assert sql(settings.database_url, lambda c: c.fetchval("SELECT count(*) FROM commands")) == 0
    assert sql(settings.database_url, lambda c: c.fetchval("SELECT count(*) FROM units")) == 7
    done = west.post("/_dash-update-component", json=apply_body(app, ["A1|Z2"]))
    assert "1 sent, 0 refused" in done.get_data(as_text=True)
    assert sql(settings.database_url, lambda c: c.fetchval("SELECT unit FROM commands WHERE kind = 'patrol'")) == "A1"


def test_recall_from_the_page_only_for_the_commanders_own_units(app: dash.Dash, settings: Settings) -> None:
    west = login_client(app, "commander", ["S1"])
    state = [("duty-recalls", "value", ["C1", "NOPE", "A1"]), ("duty-sent", "data", []), ("duty-version", "data", 0),
             ("app-lang", "data", "en")]
    body = {"output": _key(app, "duty-apply-msg.children@"),
            "outputs": [{"id": "duty-apply-msg", "property": "children"}, {"id": "duty-sent", "property": "data"},
                        {"id": "duty-version", "property": "data"}],
            "inputs": [{"id": "duty-recall", "property": "n_clicks", "value": 1}],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
            "changedPropIds": ["duty-recall.n_clicks"]}
    none = west.post("/_dash-update-component", json={**body, "state": [{**body["state"][0], "value": []},
                                                                         *body["state"][1:]]})
    assert none.status_code == 200 and "Tick what to send first" in none.get_data(as_text=True)
    got = west.post("/_dash-update-component", json=body)
    text = got.get_data(as_text=True)
    assert got.status_code == 200 and "1 sent, 2 refused" in text, text[:300]
    rows = sql(settings.database_url, lambda c: c.fetch("SELECT unit, kind, issued_by FROM commands"))
    assert [(r["unit"], r["kind"]) for r in rows] == [("A1", "recall")]
