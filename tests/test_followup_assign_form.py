"""The 交办 form of a follow-up task as a request to the dispatch page's callback: another station's
commander, a wrong role, hostile text, a deadline in the past or in year 9999 are refused with a
clear message and change nothing; a proper request stores every field and sends the slip to the
chosen device."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import dash
import pytest
from auth_helpers import login_client

from dashboard import ids
from dispatch_fixtures import CENTER, dashboard_app, run_db, seed_station, seed_unit
from qingzhi.config import Settings
from qingzhi.core import followups
from qingzhi.core.actor import Actor

FLAG = {"kind": "place", "key": "place:test", "label": "文三路 90 号", "count": 4, "incidents": ["I1", "I2"],
        "station": "S1", "subject": None, "lat": CENTER[0], "lon": CENTER[1],
        "reason": {"zh": "14 天内 150 米内 4 起", "en": "4 incidents within 150 m in 14 days"}}


async def _seed(conn: asyncpg.Connection) -> None:
    await seed_station(conn, "S1")
    await seed_station(conn, "S2", CENTER[0] + 0.2, CENTER[1])
    for unit, station in (("CO1", "S1"), ("CO2", "S1"), ("CO9", "S2")):
        await seed_unit(conn, unit, *CENTER, station=station)
    await followups.create_followup(Actor.system("test"), conn, FLAG)


@pytest.fixture
def app(settings: Settings) -> Iterator[dash.Dash]:
    run_db(settings.database_url, _seed)
    with dashboard_app(settings) as got:
        yield got


def assign_body(app: dash.Dash, **form: Any) -> dict:
    """What dash-renderer posts when task 1's 交办 button is clicked with this form."""
    key = next(k for k, v in app.callback_map.items()
               if any(ids.DISPATCH_FOLLOWUP_STEP_TYPE in json.dumps(i) for i in v["inputs"]))
    button = ids.dispatch_followup_step(1, "assigned")
    field = lambda name: {"id": ids.dispatch_assign_field(1, name), "property": "value", "value": form.get(name)}  # noqa: E731
    return {"output": key,
            "outputs": [{"id": ids.DISPATCH_MSG, "property": "children"}, {"id": ids.DISPATCH_REFRESH, "property": "data"}],
            "inputs": [[], [{"id": button, "property": "n_clicks", "value": 1}]],
            "state": [[], [field(n) for n in ("station", "officer", "unit", "worker", "due")],
                      {"id": ids.DISPATCH_REFRESH, "property": "data", "value": 0},
                      {"id": ids.LANG, "property": "data", "value": "en"}],
            "changedPropIds": [json.dumps(button, sort_keys=True, separators=(",", ":")) + ".n_clicks"]}


def _local(days: float, settings: Settings) -> str:
    return (dt.datetime.now(ZoneInfo(settings.timezone)) + dt.timedelta(days=days)).strftime("%Y-%m-%d %H:%M")


def _unchanged(settings: Settings) -> None:
    row = run_db(settings.database_url, lambda c: c.fetchrow(
        """SELECT f.state, f.officer, (SELECT count(*) FROM commands) AS commands,
                  (SELECT count(*) FROM audit_log WHERE action = 'followup.assigned') AS audits
           FROM followups f WHERE id = 1"""))
    assert tuple(row) == ("open", None, 0, 0)


REFUSED = [  # (role, stations, form, message); one app for all, each must leave the task untouched
    ("commander", ["S2"], {"officer": "赵警官"}, "may not followup.act at station S1"),
    ("commander", ["S1"], {"station": "S2", "officer": "赵警官"}, "may not followup.act at station S1, S2"),
    ("commander", ["S1"], {"officer": "<img src=x onerror=alert(1)>" * 10}, "at most 100 printable characters"),
    ("commander", ["S1"], {"officer": "赵\x00警官"}, "at most 100 printable characters"),
    ("commander", ["S1"], {"officer": ["赵警官"]}, "expected text, not list"),
    ("commander", ["S1"], {"officer": "赵警官", "worker": "李" * 101}, "the grid worker: at most 100"),
    ("commander", ["S1"], {"officer": "赵警官", "unit": "CO9"}, "unit CO9 belongs to station S2, not S1"),
    ("commander", ["S1"], {"officer": "赵警官", "unit": "'; DROP TABLE units; --"}, "no unit"),
    ("commander", ["S1"], {"officer": "赵警官", "due": "2020-01-01 08:00"}, "in the future and within 90 days"),
    ("commander", ["S1"], {"officer": "赵警官", "due": "9999-12-31 23:59"}, "in the future and within 90 days"),
    ("commander", ["S1"], {"officer": "赵警官", "due": "tomorrow"}, "write the deadline as YYYY-MM-DD HH:MM"),
    ("commander", ["S1"], {"officer": "赵警官", "due": "2026-13-45 99:99"}, "write the deadline as YYYY-MM-DD HH:MM"),
    ("commander", ["S1"], {}, "name the community officer"),
]


def test_another_station_hostile_text_and_absurd_deadlines_are_refused_clearly(app: dash.Dash,
                                                                                settings: Settings) -> None:
    clients: dict[tuple, Any] = {}
    for role, stations, form, message in REFUSED:
        client = clients.setdefault((role, tuple(stations)), login_client(app, role, stations))
        got = client.post("/_dash-update-component", json=assign_body(app, **form))
        body = got.get_data(as_text=True)
        assert got.status_code == 200 and message in body, (form, body[:400])
        _unchanged(settings)


def test_a_wrong_role_or_no_login_is_refused_at_the_gate(app: dash.Dash, settings: Settings) -> None:
    for client in (login_client(app, "analyst"), login_client(app, "wall"), app.server.test_client()):
        got = client.post("/_dash-update-component", json=assign_body(app, officer="赵警官", unit="CO2"))
        assert got.status_code in (401, 403), got.status_code
        _unchanged(settings)


def test_every_field_is_stored_audited_and_the_slip_goes_to_the_chosen_device(app: dash.Dash,
                                                                              settings: Settings) -> None:
    due = _local(3, settings)
    client = login_client(app, "commander", ["S1"])
    got = client.post("/_dash-update-component", json=assign_body(
        app, station="S1", officer=" 赵警官 ", unit="CO2", worker="孙网格", due=due))
    assert got.status_code == 200 and "Done" in got.get_data(as_text=True), got.get_data(as_text=True)[:400]
    row = run_db(settings.database_url, lambda c: c.fetchrow("SELECT * FROM followups WHERE id = 1"))
    assert (row["state"], row["station"], row["officer"], row["unit"], row["grid_worker"]) == (
        "assigned", "S1", "赵警官", "CO2", "孙网格")
    assert row["due_at"].astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%d %H:%M") == due
    cmd = run_db(settings.database_url, lambda c: c.fetchrow("SELECT unit, kind, task FROM commands"))
    assert tuple(cmd) == ("CO2", "message", 1)
    audit = run_db(settings.database_url, lambda c: c.fetchval(
        "SELECT details FROM audit_log WHERE action = 'followup.assigned'"))
    details = json.loads(audit) if isinstance(audit, str) else audit
    assert (details["unit"], details["grid_worker"], details["station"]) == ("CO2", "孙网格", "S1")


def test_the_device_list_follows_the_station_within_the_users_scope(app: dash.Dash) -> None:
    key = next(k for k, v in app.callback_map.items() if '"field":"unit"' in k.replace(" ", ""))
    station = ids.dispatch_assign_field(1, "station")

    def units(client: Any, value: Any) -> list:
        got = client.post("/_dash-update-component", json={
            "output": key, "outputs": {"id": ids.dispatch_assign_field(1, "unit"), "property": "options"},
            "inputs": [{"id": station, "property": "value", "value": value}], "state": [],
            "changedPropIds": [json.dumps(station, sort_keys=True, separators=(",", ":")) + ".value"]})
        assert got.status_code in (200, 204), got.get_data(as_text=True)[:300]
        return [o["value"] for o in json.loads(got.get_data(as_text=True) or "{}").get("response", {}).get(
            json.dumps(ids.dispatch_assign_field(1, "unit"), sort_keys=True, separators=(",", ":")), {}).get("options", [])]

    admin, west = login_client(app, "admin"), login_client(app, "commander", ["S1"])
    assert units(admin, "S2") == ["CO9"] and units(west, "S1") == ["CO1", "CO2"]
    assert units(west, "S2") == [] and units(west, ["S1"]) == []
