"""Playback (and presence, test_duty_presence) keeps fixes that come late: a device out of coverage keeps its fixes and sends them when it
is back, after the duty loop folded those hours. The ingest queues each such unit-hour and the next fold
folds it again, so playback shows where the unit was; fixes on time queue nothing."""

from __future__ import annotations

import datetime as dt

from dispatch_fixtures import run_db
from ingest_helpers import ROOT, make_message
from test_ingest_store import write

from qingzhi.core.actor import Actor
from qingzhi.core.briefing.playback import STEP_S, Window, fold_tracks, playback

ADMIN = Actor.person("chief", role="admin")


def fix(unit: str, at: dt.datetime, received: dt.datetime, lat: float):  # noqa: ANN201
    return make_message(topic=f"{ROOT}/s1/{unit}/gps", recv_ms=int(received.timestamp() * 1000),
                        ts=int(at.timestamp() * 1000), lat=lat, lon=120.15)


def test_fixes_sent_after_their_hour_was_folded_are_folded_again(database_url: str) -> None:
    now = dt.datetime.now(dt.UTC)
    hour = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=3)
    # on time: A1 and B1 every 30 s through the first half of the hour, each received a second later
    first_half = [hour + dt.timedelta(seconds=s) for s in range(0, 1800, STEP_S)]
    write(database_url, *(fix(u, t, t + dt.timedelta(seconds=1), 30.27) for u in ("A1", "B1") for t in first_half))
    assert run_db(database_url, lambda c: c.fetchval("SELECT count(*) FROM track_late")) == 0
    run_db(database_url, lambda c: c.execute("INSERT INTO track_folded (until) VALUES ($1)", hour))
    assert run_db(database_url, fold_tracks, now) >= 2          # the hour (and the ones after it) folded

    # A1 was in a tunnel for the second half: its fixes come now, hours later, with a fresh one
    second_half = [hour + dt.timedelta(seconds=s) for s in range(1800, 3600, STEP_S)]
    write(database_url, *(fix("A1", t, now, 30.28) for t in second_half), fix("A1", now, now, 30.29))
    queued = run_db(database_url, lambda c: c.fetch("SELECT unit, hour FROM track_late"))
    assert [(r["unit"], r["hour"]) for r in queued] == [("A1", hour)]       # the fresh fix queues nothing
    assert run_db(database_url, lambda c: c.fetchval("SELECT array_agg(hour) FROM presence_late")) == [hour]

    def hour_row(unit: str) -> list[float]:
        return run_db(database_url, lambda c: c.fetchval("SELECT t FROM track_hours WHERE unit = $1 AND hour = $2",
                                                         unit, hour))
    assert len(hour_row("A1")) == 60
    assert run_db(database_url, fold_tracks, now) == 1                     # A1's hour again, nothing else
    assert len(hour_row("A1")) == 120 and len(hour_row("B1")) == 60
    assert run_db(database_url, lambda c: c.fetchval("SELECT count(*) FROM track_late")) == 0
    assert run_db(database_url, fold_tracks, now) == 0                      # drained: idempotent

    got = run_db(database_url, lambda c: playback(ADMIN, c, Window(hour, hour + dt.timedelta(hours=1))))
    a1 = next(u for u in got["units"] if u["unit"] == "A1")
    assert len(a1["t"]) == 120 and a1["lat"][-1] == 30.28                  # the tunnel half is played back


def test_a_status_sent_late_queues_the_hours_it_decides_for_presence(database_url: str) -> None:
    """A unit's status counts for presence until its next one (up to a day): a late one queues its hour and
    each hour after it up to the one it came in; one on time queues nothing, and a redelivery nothing more."""
    now = dt.datetime.now(dt.UTC)
    hour = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=3)

    def status(at: dt.datetime, received: dt.datetime, value: str):  # noqa: ANN202
        return make_message(topic=f"{ROOT}/s1/A1/status", recv_ms=int(received.timestamp() * 1000),
                            payload={"ts": int(at.timestamp() * 1000), "status": value})
    write(database_url, status(now - dt.timedelta(minutes=1), now, "patrolling"))
    assert run_db(database_url, lambda c: c.fetchval("SELECT count(*) FROM presence_late")) == 0
    late = status(hour + dt.timedelta(minutes=40), now, "off_duty")
    write(database_url, late)
    queued = run_db(database_url, lambda c: c.fetchval("SELECT array_agg(hour ORDER BY hour) FROM presence_late"))
    assert queued == [hour + dt.timedelta(hours=k) for k in range(3)]         # not the hour it came in: not measured
    run_db(database_url, lambda c: c.execute("DELETE FROM presence_late"))
    write(database_url, late)                                                    # a redelivery is not stored again
    assert run_db(database_url, lambda c: c.fetchval("SELECT count(*) FROM presence_late")) == 0
