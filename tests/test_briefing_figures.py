"""Every briefing figure on the crafted district of briefing_fixtures (answers worked out by hand),
an empty period (no division by zero: "no data"), and who may see which stations."""

from __future__ import annotations

import datetime as dt

import pytest

from briefing_fixtures import D, TZ, at, seed_briefing
from dispatch_fixtures import run_db
from qingzhi.core.access import Unauthorized
from qingzhi.core.actor import Actor
from qingzhi.core.briefing.build import build_briefing
from qingzhi.core.briefing.config import load_config, parse_config
from qingzhi.core.briefing.period import period_of
from qingzhi.errors import QingzhiError

ADMIN = Actor.person("chief", role="admin")
CFG = load_config()


def _brief(url: str, actor: Actor = ADMIN, *, kind: str = "day", day: dt.date = D, station: str | None = None,
           cfg=CFG) -> dict:
    async def go(conn):  # noqa: ANN001, ANN202 - a test's local helper
        return await build_briefing(actor, conn, period_of(kind, day, TZ), cfg, station=station)
    return run_db(url, go)


def test_every_figure_of_the_crafted_day(database_url: str) -> None:
    run_db(database_url, seed_briefing)
    b = _brief(database_url)
    heads = {h["key"]: h for h in b["headlines"]}
    assert {k: h["value"] for k, h in heads.items()} == {
        "calls": 10, "criminal": 8, "violent": 1, "property": 7, "fraud": 2, "vehicle_theft": 3, "preventable": 7,
        "administrative": 2, "mass": 0, "homicide": 1}
    assert heads["calls"]["prev"] == {"value": 10, "base": 2, "change": 8, "pct": 400.0, "direction": "up"}
    assert heads["calls"]["yoy"]["pct"] == pytest.approx(150.0)         # 10 against 4 a year back
    assert heads["fraud"]["yoy"]["direction"] == "up" and heads["fraud"]["prev"]["direction"] == "no_data"
    assert heads["mass"]["prev"]["direction"] == "no_data" and heads["mass"]["prev"]["pct"] is None
    rates = b["rates"]
    assert rates["decline_prev"] == pytest.approx(-400.0) and rates["decline_yoy"] == pytest.approx(-150.0)
    assert rates["preventable"] == 7 and rates["population"] is None and rates["preventable_per_10k"] is None
    assert (rates["checks"], rates["hits"], rates["check_hit"]) == (5, 2, pytest.approx(0.4))
    assert rates["check_hit_yoy"] is None
    loop = b["closed_loop"]
    assert (loop["incidents"], loop["closed"], loop["reviewed"], loop["rated"]) == (9, 3, 4, 3)
    assert loop["mean"] == pytest.approx(13 / 3) and loop["distribution"] == {1: 0, 2: 0, 3: 0, 4: 2, 5: 1}
    rep = b["repeats"]
    assert (rep["calls"], rep["repeats"], rep["share"], rep["share_yoy"]) == (10, 2, 0.2, 0.5)
    assert rep["yoy"]["pct"] == pytest.approx(-60.0) and rep["yoy"]["direction"] == "down"
    p1 = next(r for r in b["response"]["priority"] if r["grp"] == "1")
    assert p1["received_assigned_n"] == 2 and p1["received_assigned_p50"] == pytest.approx(75.0)  # 30 s and 120 s
    assert p1["received_on_scene_p90"] == pytest.approx(180 + 0.9 * 60)                          # 180 s and 240 s
    assert {r["grp"] for r in b["response"]["station"]} == {"S1", "S2"}
    late = {r["id"]: (r["late_assign"], r["late_on_scene"]) for r in b["overdue"]["rows"]}
    assert late == {"S1-FRAUD-1": (True, False), "S1-FIGHT": (True, True), "S2-BURGLARY-1": (True, True),
                    "S2-BURGLARY-2": (True, True), "S2-NOISE": (True, True)} and b["overdue"]["count"] == 5
    cams = b["cameras"]
    assert cams["S1"]["on_scene_s"] == 90 * 60 and cams["S1"]["recording_s"] == 40 * 60
    assert cams["*"]["share"] == pytest.approx(40 / 90) and "S2" not in cams
    assert b["camera_faults"]["fault_units"] == ["U2"] and b["camera_faults"]["flat_units"] == ["U1"]
    assert b["busiest"]["type"] == {"key": "theft.ebike", "n": 3} and b["busiest"]["station"]["key"] == "S1"
    ranking = {r["station"]: r for r in b["ranking"]}
    assert ranking["S1"]["figures"]["check_hit"] == 0.25 and ranking["S2"]["figures"]["check_hit"] == 1.0
    assert ranking["S2"]["figures"]["decline"] is None  # nothing the day before: no decline rate, not 0
    assert [r["rank"] for r in b["ranking"]] == [1, 2]
    assert rates["duty_rate"] is None and rates["visible_rate"] is None   # nothing measured: no data, not 0
    assert b["diverted"] == {"total": 0, "by_agency": {}, "prev": b["diverted"]["prev"], "yoy": b["diverted"]["yoy"]}
    assert b["diverted"]["prev"]["direction"] == "no_data" and b["governance"]["opened"] == 0


def test_population_gives_rates_per_10k_and_station_scope_narrows(database_url: str) -> None:
    run_db(database_url, seed_briefing)
    data = {"headlines": {h: p for h, p in CFG.headlines.items()}, "population": {"S1": 20_000, "S2": 50_000}}
    cfg = parse_config({**data, "headlines": {k: list(v) for k, v in data["headlines"].items()}})
    b = _brief(database_url, cfg=cfg)
    assert b["rates"]["population"] == 70_000 and b["rates"]["preventable_per_10k"] == pytest.approx(1.0)
    ranking = {r["station"]: r["figures"]["preventable_rate"] for r in b["ranking"]}
    assert ranking == {"S1": pytest.approx(5 * 10_000 / 20_000), "S2": pytest.approx(2 * 10_000 / 50_000)}
    s2 = _brief(database_url, station="S2", cfg=cfg)
    assert [h["value"] for h in s2["headlines"]][:1] == [3] and s2["rates"]["preventable_per_10k"] == pytest.approx(0.4)
    assert [s["id"] for s in s2["stations"]] == ["S2"]
    # a station commander of S2 sees only S2, whatever they ask for
    own = Actor.person("s2chief", role="commander", stations=frozenset({"S2"}))
    assert _brief(database_url, own)["headlines"][0]["value"] == 3
    with pytest.raises(Unauthorized):
        _brief(database_url, own, station="S1")
    with pytest.raises(Unauthorized):
        _brief(database_url, Actor.person("wall", role="wall"))
    with pytest.raises(QingzhiError, match="no station 'S9'"):
        _brief(database_url, station="S9")


def test_an_empty_period_says_no_data_and_never_divides_by_zero(database_url: str) -> None:
    b = _brief(database_url, kind="month", day=dt.date(2030, 2, 1))
    assert all(h["value"] == 0 and h["prev"]["direction"] == "no_data" and h["yoy"]["pct"] is None
               for h in b["headlines"])
    rates = b["rates"]
    assert rates["decline_prev"] is None and rates["check_hit"] is None and rates["preventable_per_10k"] is None
    assert b["closed_loop"]["mean"] is None and b["repeats"]["share"] is None
    assert b["repeats"]["yoy"]["direction"] == "no_data" and b["cameras"]["*"]["share"] is None
    assert b["overdue"]["count"] == 0 and b["ranking"] == [] and b["busiest"]["type"] is None


def test_diverted_calls_and_repeat_tasks_counted_in_the_period(database_url: str) -> None:
    """Issue 13's figures in the briefing: calls diverted on the day (by agency, against the day before)
    and the repeat-call tasks opened, closed and found effective on it; outside the period not counted."""
    async def seed(conn):  # noqa: ANN001, ANN202 - a test's local helper
        await seed_briefing(conn)
        for iid, when in (("S2-NOISE", at(D, 10, 30)), ("S1-FIGHT", at(D, 13, 30)), ("S1-PREV-1", at(D - dt.timedelta(days=1), 16))):
            await conn.execute("UPDATE incidents SET state = 'diverted', diverted_to = $2, diverted_at = $3 WHERE id = $1",
                               iid, "urban_management" if iid != "S1-FIGHT" else "utilities", when)
        for key, created, closed, effective in (("c1", at(D, 9), at(D, 18), True), ("c2", at(D, 12), None, None),
                                                ("y1", at(D - dt.timedelta(days=1), 1), at(D - dt.timedelta(days=1), 23), True)):
            await conn.execute(
                """INSERT INTO followups (flag_kind, flag_key, title, incidents, station, state, created_at, created_by,
                                          officer, assigned_at, closed_at, effective)
                   VALUES ('caller', $1, 't', '{}', 'S1', $2, $3, 'chief', 'o', $3, $4, $5)""",
                key, "closed" if closed else "assigned", created, closed, effective)
    run_db(database_url, seed)
    b = _brief(database_url)
    assert b["diverted"]["total"] == 2 and b["diverted"]["by_agency"] == {"urban_management": 1, "utilities": 1}
    assert b["diverted"]["prev"]["base"] == 1 and b["diverted"]["prev"]["direction"] == "up"
    gov = b["governance"]
    assert (gov["opened"], gov["closed"], gov["effective"], gov["open_now"]) == (2, 1, 1, 1)
    s2 = _brief(database_url, station="S2")
    assert s2["diverted"]["total"] == 1 and s2["governance"]["opened"] == 0


def test_duty_fulfilment_and_street_presence_from_the_kept_days(database_url: str) -> None:
    """勤务落实率 and 街面见警率 of issue 11 in the briefing: summed over the period's days and zones before
    dividing (a zone's quiet hours weigh what they measured), days outside the period left out."""
    async def seed(conn):  # noqa: ANN001, ANN202 - a test's local helper
        await seed_briefing(conn)
        rows = [(D, "Z1", "S1", 1440, 1200, 1440.0, 1080.0, 24, 18), (D, "Z2", "S2", 720, 720, 1440.0, 1440.0, 12, 12),
                (D - dt.timedelta(days=1), "Z1", "S1", 1440, 0, 1440.0, 360.0, 24, 6)]
        await conn.executemany(
            """INSERT INTO presence_day (day, zone, station, minutes, met_minutes, required_unit_min,
                                         delivered_unit_min, zone_hours, zone_hours_seen)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""", rows)
    run_db(database_url, seed)
    r = _brief(database_url)["rates"]
    assert r["duty_rate"] == pytest.approx((1080 + 1440) / 2880) and r["visible_rate"] == pytest.approx(30 / 36)
    assert r["duty_rate_prev"] == pytest.approx(0.25) and r["visible_rate_prev"] == pytest.approx(0.25)
    s1 = _brief(database_url, station="S1")["rates"]
    assert s1["duty_rate"] == pytest.approx(0.75) and s1["visible_rate"] == pytest.approx(0.75)
