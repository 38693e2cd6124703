"""The dispatch page's live endpoint (dashboard/dispatch/api.py) as a logged-in commander, against a
real database: each part comes back only when what it shows changed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import flask
import pytest

from auth_helpers import login_client
from dashboard.app import create_app
from dispatch_fixtures import run_db, seed_city, seed_incident
from qingzhi.config import Settings


@pytest.fixture
def client(settings: Settings) -> Iterator[flask.testing.FlaskClient]:
    """A commander's test client of the dashboard, on a small seeded district."""
    run_db(settings.database_url, seed_city)
    app = create_app(settings)
    yield login_client(app, "commander")
    app.server.extensions["qingzhi"].db.close()


def text(part: object) -> str:
    """Everything a part shows, as one string (component trees included)."""
    return json.dumps(part, ensure_ascii=False)


def live(client: flask.testing.FlaskClient, **params: str) -> dict:
    got = client.get("/api/dispatch/live", query_string={"lang": "en", **params})
    assert got.status_code == 200 and got.headers["Cache-Control"] == "no-store"
    return got.get_json()


def test_each_part_only_when_it_changed(client, settings: Settings) -> None:
    first = live(client)
    assert set(first) == {"queue"}  # nothing selected: no detail
    assert first["queue"]["count"] == "6 open, 3 overdue"
    assert all(f"110-000{i}" in text(first["queue"]["cards"]) for i in range(1, 7))
    qtok = first["queue"]["token"]
    assert live(client, qtok=qtok) == {}

    opened = live(client, qtok=qtok, incident="110-0004")
    assert set(opened) == {"detail", "actions"}
    assert "110-0004" in text(opened["detail"]["head"]) and "Recommended" in text(opened["detail"]["recommend"])
    assert opened["detail"]["layer"] and opened["actions"]["token"] == "110-0004:received"
    tokens = {"qtok": qtok, "incident": "110-0004", "dtok": opened["detail"]["token"], "atok": opened["actions"]["token"]}
    assert live(client, **tokens) == {}

    run_db(settings.database_url, lambda c: c.execute("UPDATE incidents SET address = '教工路 18 号' WHERE id = '110-0004'"))
    moved = live(client, **tokens)
    assert set(moved) == {"queue", "detail"}  # the same actions: a form being filled in stays as it is
    assert "教工路 18 号" in text(moved["queue"]["cards"]) and "教工路 18 号" in text(moved["detail"]["head"])
    tokens.update(qtok=moved["queue"]["token"], dtok=moved["detail"]["token"])

    run_db(settings.database_url, lambda c: c.execute(
        "UPDATE incidents SET state = 'cancelled', cancelled_at = now() WHERE id = '110-0004'"))
    cancelled = live(client, **tokens)
    assert set(cancelled) == {"queue", "detail", "actions"}
    assert "110-0004" not in text(cancelled["queue"]["cards"]) and cancelled["actions"]["children"] == []

    run_db(settings.database_url, lambda c: seed_incident(c, "110-0099", priority=4, station="XH"))
    arrived = live(client, **{**tokens, "qtok": cancelled["queue"]["token"], "dtok": cancelled["detail"]["token"],
                              "atok": cancelled["actions"]["token"]})
    assert set(arrived) == {"queue"} and "110-0099" in text(arrived["queue"]["cards"])


def test_the_selected_card_is_marked_and_texts_follow_the_language(client) -> None:
    zh = live(client, lang="zh", incident="110-0002")
    cards = zh["queue"]["cards"]
    selected = [c["props"]["id"]["id"] for c in cards if "selected" in c["props"]["className"]]
    assert selected == ["110-0002"] and zh["queue"]["count"] == "待处置 6 起，超时 3 起"


def test_bad_and_unknown_parameters(client) -> None:
    got = client.get("/api/dispatch/live", query_string={"incident": "x" * 65})
    assert got.status_code == 400 and got.get_json()["error"] == "incident: at most 64 characters"
    assert set(live(client, incident="NO-SUCH")) == {"queue"}  # an incident gone: nothing to show for it
