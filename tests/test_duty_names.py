"""The /duty page names zones and stations as people do (in the page's language), while the tick boxes'
values, the plan and the commands keep the ids."""

from __future__ import annotations

from typing import Any

from dispatch_fixtures import run_db, seed_station
from duty_fixtures import seed_zone

from dashboard.duty.components import build_presence, move_options
from dashboard.duty.queries import place_names

MOVE = {"unit": "U1", "from_zone": "Z0", "zone": "Z2", "level": "II", "eta_s": 180.0}


async def _seed(conn: Any) -> None:
    await seed_station(conn, "S1")
    await seed_zone(conn, "Z0", 0)
    await seed_zone(conn, "Z2", 2)
    await conn.execute("UPDATE zones SET name_zh = '文三路巡区', name_en = 'Wensan Rd beat' WHERE id = 'Z2'")


def test_names_in_the_page_language_ids_in_the_values(database_url: str) -> None:
    run_db(database_url, _seed)
    zh, en = run_db(database_url, place_names, "zh"), run_db(database_url, place_names, "en")
    assert zh["zone"]["Z2"] == "文三路巡区" and en["zone"]["Z2"] == "Wensan Rd beat" and "S1" in en["station"]
    [opt] = move_options([MOVE], "en", en["zone"])
    assert "Z0 → Wensan Rd beat" in opt["label"] and opt["value"] == "U1|Z2"
    assert move_options([MOVE], "en")[0]["label"].startswith("U1  Z0 → Z2")   # no names: the ids, never a blank
    coverage = {"shift": {"presence_rate": None, "fulfilment_rate": None},
                "zones": {"Z2": {"station": "S1", "need": 2, "met_last_hour": 0.5, "met_shift": 1.0}}}
    assert "文三路巡区" in str(build_presence(coverage, [], lang="zh", zone_names=zh["zone"]))


def test_suggestions_name_the_place_and_the_category(database_url: str) -> None:
    from dashboard.duty.components import build_suggestions
    from qingzhi.core.suggestions import explain

    run_db(database_url, _seed)
    zh = run_db(database_url, place_names, "zh")
    why = explain(5, 1.0, 4.0, ("dispute", 5, 1.0), "08:00", 4)
    assert "纠纷 5 起" in why and "(Disputes 5 vs 1)" in why and "dispute" not in why
    row = {"id": 1, "scope": "zone", "target": "Z2", "current": "IV", "suggested": "III", "why": why}
    shown = str(build_suggestions([row], lang="zh", can_act=False, names=zh))
    assert "文三路巡区" in shown and "Z2" not in shown and "纠纷" in shown
    assert "Z2" in str(build_suggestions([row], lang="zh", can_act=False))   # no names: the id, never a blank
    named = build_suggestions([row | {"scope": "station", "target": "S1"}], lang="en", can_act=False,
                              names={"station": {"S1": "Wenxin Station"}})
    assert "Wenxin Station: IV → III" in str(named) and "Station Wenxin" not in str(named)
