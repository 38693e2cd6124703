"""Suggested levels: a surge against the station's own median week suggests one level up, in words;
a holiday week in the baseline does not move it; weeks before the first record are no data, not quiet
weeks; accept sets the level, dismiss keeps it quiet; audited, within the commander's stations."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from dispatch_fixtures import run_db, seed_incident
from duty_fixtures import two_stations, zone_center
from qingzhi.config import Settings
from qingzhi.core import levels, suggestions
from qingzhi.core.access import Unauthorized
from qingzhi.core.actor import Actor
from qingzhi.core.response_plan import load_plan
from qingzhi.errors import QingzhiError

ADMIN = Actor.person("chief", "test", role="admin")
S1_CMDR = Actor.person("li", "test", role="commander", stations=frozenset({"S1"}))
S2_CMDR = Actor.person("zhao", "test", role="commander", stations=frozenset({"S2"}))
PLAN = load_plan()
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def test_judge_raises_lowers_and_holds() -> None:
    rule = PLAN.suggest
    assert suggestions.judge(10, [4, 5, 6, 5, 40, 5, 4, 6], 4, rule)[0] == 3      # the 40 (a holiday) barely counts
    assert suggestions.judge(3, [1, 1, 1, 1], 4, rule) is None                     # below min_count
    assert suggestions.judge(5, [5, 5, 5, 5], 4, rule) is None
    assert suggestions.judge(1, [5, 5, 5, 5], 2, rule)[0] == 3                     # quiet: one level down
    assert suggestions.judge(9, [5, 5, 5], 3, rule) is None                        # +80 %: III, not yet II
    assert suggestions.judge(13, [5, 5, 5], 3, rule)[0] == 2                       # +160 %: II
    assert suggestions.judge(1, [5, 5, 5, 5], 4, rule) is None                     # never below IV
    assert suggestions.judge(50, [1, 1], 1, rule) is None                          # never above I
    assert suggestions.judge(13, [8, 8, 8], 4, rule) is None      # +62 %, but 13 against 8 happens by chance (p 0.06)
    assert suggestions.judge(15, [6, 6, 6], 4, rule)[0] == 3      # +150 % and improbable (p 0.001): one level up


async def _incidents(conn: asyncpg.Connection, weeks: int = 8) -> None:
    """S1 Z0: 9 thefts and 2 disputes in the last 3 hours; each of the `weeks` weeks before: 3 incidents in
    the same hours, except one holiday week with 30. The records begin a day before the oldest of those."""
    lat, lon = zone_center(0)
    n = 0

    async def add(ts: dt.datetime, typ: str) -> None:
        nonlocal n
        n += 1
        await seed_incident(conn, f"I{n:04d}", ts=ts, lat=lat, lon=lon, type=typ, station="S1", state="closed")

    for k in range(11):
        await add(NOW - dt.timedelta(minutes=10 + 15 * k), "theft.ebike" if k < 9 else "dispute.family")
    for w in range(1, weeks + 1):
        for k in range(30 if w == 3 else 3):
            await add(NOW - dt.timedelta(weeks=w, minutes=5 + 5 * k), "dispute.family")
    await add(NOW - dt.timedelta(weeks=weeks, days=1), "dispute.family")


@pytest.fixture
def district(settings: Settings) -> Settings:
    async def seed(conn: asyncpg.Connection) -> None:
        await two_stations(conn)
        await _incidents(conn)
    run_db(settings.database_url, seed)
    return settings


def test_a_surge_is_suggested_in_words_then_accepted_or_dismissed(district: Settings) -> None:
    async def go(conn: asyncpg.Connection) -> None:
        assert await suggestions.refresh(conn, PLAN, "Asia/Shanghai", now=NOW) == 2    # station S1 and zone Z0
        open_ = await suggestions.open_suggestions(S1_CMDR, conn)
        assert {(s["scope"], s["target"], s["current"], s["suggested"]) for s in open_} == {
            ("station", "S1", "IV", "III"), ("zone", "Z0", "IV", "III")}
        why = open_[0]["why"]
        assert "+267 %" in why and "since 17:00" in why and "Theft 9 vs 0" in why and "盗窃 9 起" in why and "8-week median (11 vs 3)" in why
        assert await suggestions.open_suggestions(S2_CMDR, conn) == []
        zone = next(s for s in open_ if s["scope"] == "zone")
        station = next(s for s in open_ if s["scope"] == "station")
        with pytest.raises(Unauthorized):
            await suggestions.decide(S2_CMDR, conn, zone["id"], True)
        done = await suggestions.decide(S1_CMDR, conn, zone["id"], True)
        assert done["level"] == "III" and await conn.fetchval("SELECT alert_level FROM zones WHERE id = 'Z0'") == 3
        assert (await levels.list_levels(S1_CMDR, conn))[0]["reason"] == zone["why"]
        with pytest.raises(QingzhiError, match="already accepted"):
            await suggestions.decide(S1_CMDR, conn, zone["id"], False)
        await suggestions.decide(S1_CMDR, conn, station["id"], False)
        # the dismissed one is not suggested again within the window; Z0's +267 % crosses II's +150 % too
        assert await suggestions.refresh(conn, PLAN, "Asia/Shanghai", now=NOW) == 1
        again = await suggestions.open_suggestions(S1_CMDR, conn)
        assert [(s["target"], s["current"], s["suggested"]) for s in again] == [("Z0", "III", "II")]
        actions = [r["action"] for r in await conn.fetch("SELECT action FROM audit_log ORDER BY id")]
        assert actions == ["level.suggestion.accept", "level.set", "level.suggestion.dismiss"]
        with pytest.raises(QingzhiError, match="no suggestion"):
            await suggestions.decide(ADMIN, conn, 99999, True)

    run_db(district.database_url, go)


def test_a_quiet_raised_station_is_suggested_down_and_a_warranted_one_is_withdrawn(district: Settings) -> None:
    async def go(conn: asyncpg.Connection) -> None:
        await levels.set_level(ADMIN, conn, scope="station", target="S2", level="II", reason="上周事件")
        later = NOW + dt.timedelta(days=2)        # no incidents at all in these hours: S1's surge is over
        await suggestions.refresh(conn, PLAN, "UTC", now=later)
        open_ = await suggestions.open_suggestions(ADMIN, conn)
        assert [(s["target"], s["current"], s["suggested"]) for s in open_ if s["scope"] == "station"] == [
            ("S2", "II", "III")]
        assert "+0 % incidents since 09:00 against the 8-week median (0 vs 0)" in open_[0]["why"]

    run_db(district.database_url, go)


@pytest.mark.parametrize(("weeks", "expected"), [
    (3, "3-week median (11 vs 3)"),     # history covers three weeks: the median of those, not of 8 with 5 empty
    (1, None),                           # one week is fewer than min_weeks: no suggestion, an open one withdrawn
])
def test_weeks_before_the_first_record_are_not_counted_as_quiet(settings: Settings, weeks: int,
                                                                 expected: str | None) -> None:
    async def go(conn: asyncpg.Connection) -> None:
        await two_stations(conn)
        await conn.execute("""INSERT INTO level_suggestions (ts, scope, target, station, current, suggested, why)
                              VALUES (now(), 'station', 'S2', 'S2', 4, 3, 'an older reason')""")
        await _incidents(conn, weeks)
        assert await suggestions.refresh(conn, PLAN, "Asia/Shanghai", now=NOW) == (2 if expected else 0)
        open_ = await suggestions.open_suggestions(ADMIN, conn)
        if expected:
            assert {(s["target"], s["suggested"]) for s in open_} == {("S1", "III"), ("Z0", "III")}
            assert all(expected in s["why"] and "对比前 3 周" in s["why"] for s in open_)
        else:
            assert open_ == []

    run_db(settings.database_url, go)


def test_min_weeks_beyond_the_baseline_is_a_plan_error() -> None:
    with pytest.raises(ValueError, match="min_weeks"):
        type(PLAN.suggest)(baseline_weeks=4, min_weeks=5)
