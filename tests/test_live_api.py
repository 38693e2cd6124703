"""The live map's JSON endpoints (dashboard/live/api.py) as a logged-in user, against a real DB."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import flask
import pytest

from bench.fleet import move_units, seed_district
from auth_helpers import login_client
from dashboard.app import create_app
from db_helpers import with_conn as sql


class App:
    """The dashboard's server, whose test_client() is logged in as a commander (as the wall's JS would be)."""

    def __init__(self, settings) -> None:
        self.dash = create_app(settings)

    def test_client(self) -> flask.testing.FlaskClient:
        return login_client(self.dash, "commander")


@pytest.fixture
def app(settings) -> Iterator[App]:
    """The dashboard on the test database."""
    got = App(settings)
    yield got
    got.dash.server.extensions["qingzhi"].db.close()




def test_units_endpoint_full_then_delta(app, database_url):
    ids = sql(database_url, lambda c: seed_district(c, units=25, stations=1))
    client = app.test_client()
    first = client.get("/api/live/units?since=0")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    body = first.get_json()
    assert body["full"] is True and len(body["rows"]) == 25
    sql(database_url, lambda c: move_units(c, ids[:2], rng=random.Random(1)))
    delta = client.get(f"/api/live/units?since={body['v']}").get_json()
    assert delta["full"] is False and sorted(r[0] for r in delta["rows"]) == sorted(ids[:2])


@pytest.mark.parametrize("query", ["since=abc", "since=-1", "station=" + "x" * 65])
def test_units_endpoint_rejects_bad_parameters(app, query):
    got = app.test_client().get(f"/api/live/units?{query}")
    assert got.status_code == 400 and got.get_json()["error"]


def test_units_endpoint_says_503_when_the_database_is_gone(app, database_url):
    async def drop(conn):
        name = database_url.rsplit("/", 1)[1]
        await conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {name}")  # empty: no units table

    client = app.test_client()
    sql(database_url.rsplit("/", 1)[0] + "/postgres", drop)
    got = client.get("/api/live/units?since=0")
    assert got.status_code == 503 and "database unavailable" in got.get_json()["error"]


def test_panel_sends_alerts_and_overlays_only_when_changed(app, database_url):
    sql(database_url, lambda c: seed_district(c, units=5, stations=2, incidents=3))
    sql(database_url, lambda c: c.execute(
        "INSERT INTO alerts (ts, kind, severity, subject, unit, station) VALUES (now(), 'cam_recording', 2, 'ST01-00001', 'ST01-00001', 'ST01')"))
    client = app.test_client()
    first = client.get("/api/live/panel?lang=en&ack=1").get_json()
    assert first["open"] == 1 and first["open_text"] == "1 open"
    feed = json.dumps(first["alerts"])
    assert "Camera started recording" in feed and "ST01-00001" in feed and '"type": "live-ack"' in feed.replace('":"', '": "')
    assert len(first["overlays"]["jurisdictions"]["features"]) == 2
    assert first["overlays"]["jurisdictions"]["features"][0]["properties"]["name"] == "Xihu Station"
    same = client.get(f"/api/live/panel?lang=en&atok={first['atok']}&otok={first['otok']}").get_json()
    assert same == {}
    zh = client.get(f"/api/live/panel?lang=zh&atok={first['atok']}&otok={first['otok']}").get_json()
    assert "alerts" not in zh and zh["overlays"]["jurisdictions"]["features"][0]["properties"]["name"] == "西湖派出所"
    wall = client.get("/api/live/panel?lang=zh&ack=0").get_json()
    assert "live-ack" not in json.dumps(wall["alerts"]) and "执法记录仪开始录像" in json.dumps(wall["alerts"], ensure_ascii=False)
