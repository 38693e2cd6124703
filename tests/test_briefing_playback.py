"""Playback: the right position at a given time (between fixes, before and after a track), the
same tracks whether the hours are folded by the duty loop or read from the fixes, statuses,
incidents, long stops, the area and the reader's station scope; bad windows are clear errors."""

from __future__ import annotations

import datetime as dt

import pytest

from briefing_fixtures import T0, seed_tracks
from dispatch_fixtures import run_db
from qingzhi.core.access import Unauthorized
from qingzhi.core.actor import Actor
from qingzhi.core.briefing.playback import Window, fold_tracks, playback, position_at, stops
from qingzhi.errors import QingzhiError

ADMIN = Actor.person("chief", role="admin")


def _play(url: str, actor: Actor = ADMIN, **kwargs) -> dict:  # noqa: ANN003
    window = {"since": T0 + dt.timedelta(minutes=15), "until": T0 + dt.timedelta(minutes=75), **kwargs}
    return run_db(url, lambda c: playback(actor, c, Window(**window)))


def test_positions_statuses_incidents_and_stops(database_url: str) -> None:
    run_db(database_url, seed_tracks)
    got = _play(database_url)
    a1, b1 = got["units"]
    assert (a1["unit"], b1["unit"]) == ("A1", "B1") and len(a1["t"]) == 120  # 60 min thinned to one per 30 s
    at = (T0 + dt.timedelta(minutes=20, seconds=15)).timestamp()  # between two kept fixes (…:00 and …:30)
    assert position_at(a1, at) == pytest.approx((30.0 + 1215e-5, 120.0))
    assert position_at(a1, T0.timestamp()) is None  # before the window's track
    assert a1["st"] == ["patrolling", "en_route", "on_scene"]  # the status the window opened with, then its changes
    assert [i["id"] for i in got["incidents"]] == ["I1"]
    assert got["stops"] == [{"unit": "B1", "from": (T0 + dt.timedelta(minutes=15)).timestamp(),
                             "to": (T0 + dt.timedelta(minutes=31)).timestamp(), "lat": 31.0, "lon": 121.0}]
    # (at ~1 m/s B1 is still within 60 m of where it parked one minute after it moved off)


@pytest.mark.parametrize("session_zone", ["UTC", "Asia/Kolkata"])  # hours are UTC hours, whatever the session's zone
def test_folded_hours_give_the_same_tracks(database_url: str, session_zone: str) -> None:
    run_db(database_url, seed_tracks)
    raw = _play(database_url)

    async def in_zone(c, fn, *args):  # noqa: ANN001, ANN002, ANN202
        await c.execute(f"SET TimeZone = '{session_zone}'")
        return await fn(c, *args)
    run_db(database_url, lambda c: c.execute("INSERT INTO track_folded (until) VALUES ($1)", T0))
    later = T0 + dt.timedelta(hours=1, minutes=20)
    assert run_db(database_url, lambda c: in_zone(c, fold_tracks, later)) == 2  # 08:00–09:00, two units
    assert run_db(database_url, lambda c: in_zone(c, fold_tracks, later)) == 0  # idempotent
    window = Window(T0 + dt.timedelta(minutes=15), T0 + dt.timedelta(minutes=75))
    mixed = run_db(database_url, lambda c: in_zone(c, lambda c2: playback(ADMIN, c2, window)))  # folded to 09:00, then raw
    assert [u["t"] for u in mixed["units"]] == [u["t"] for u in raw["units"]]
    assert [u["lat"] for u in mixed["units"]] == [u["lat"] for u in raw["units"]]


def test_area_units_and_station_scope(database_url: str) -> None:
    run_db(database_url, seed_tracks)
    assert [u["unit"] for u in _play(database_url, bbox=(30.9, 120.9, 31.1, 121.1))["units"]] == ["B1"]
    assert [u["unit"] for u in _play(database_url, units=("A1",))["units"]] == ["A1"]
    s1 = Actor.person("s1", role="analyst", stations=frozenset({"S1"}))
    assert [u["unit"] for u in _play(database_url, s1)["units"]] == ["A1"]
    with pytest.raises(Unauthorized):
        _play(database_url, Actor.person("w", role="wall"))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"until": T0}, "runs forward"), ({"until": T0 + dt.timedelta(hours=30)}, "at most 24 h"),
    ({"since": T0.replace(tzinfo=None)}, "time zone"), ({"units": ("A1; DROP",)}, "by call sign"),
    ({"units": ()}, "by call sign"), ({"bbox": (31, 120, 30, 121)}, "south < north"), ({"stop_min": 0}, "a stop is"),
])
def test_bad_windows_are_clear_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(QingzhiError, match=message):
        Window(**{"since": T0 + dt.timedelta(minutes=1), "until": T0 + dt.timedelta(hours=2), **kwargs})


def test_stops_need_both_time_and_stillness() -> None:
    track = {"unit": "X", "t": [0.0, 300.0, 700.0, 800.0], "lat": [30.0, 30.0001, 30.0, 30.01], "lon": [120.0] * 4}
    assert stops(track, 600, 60) == [{"unit": "X", "from": 0.0, "to": 700.0, "lat": 30.0, "lon": 120.0}]
    assert stops(track, 800, 60) == []
