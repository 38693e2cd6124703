"""Alert levels: set, clear, expire by the duty loop, station scope, audit, the alert feed and the map;
the response plan file's validation; the `qingzhi level` command."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from dispatch_fixtures import run_db
from duty_fixtures import two_stations
from qingzhi.config import Settings
from qingzhi.core import levels
from qingzhi.core.access import Unauthorized
from qingzhi.core.actor import Actor
from qingzhi.core.response_plan import DEFAULT_FILE, load_plan, parse
from qingzhi.duties import DutyLoop
from qingzhi.errors import QingzhiError

ADMIN = Actor.person("chief", "test", role="admin")
S1_CMDR = Actor.person("li", "test", role="commander", stations=frozenset({"S1"}))
ANALYST = Actor.person("wang", "test", role="analyst")


@pytest.fixture
def district(settings: Settings) -> Settings:
    run_db(settings.database_url, two_stations)
    return settings


async def _zone_levels(conn: asyncpg.Connection) -> dict[str, int]:
    return {r["id"]: r["alert_level"] for r in await conn.fetch("SELECT id, alert_level FROM zones")}


def test_most_specific_level_wins_and_each_change_is_audited_and_announced(district: Settings) -> None:
    async def go(conn: asyncpg.Connection) -> None:
        await levels.set_level(ADMIN, conn, scope="district", target=None, level="III", reason="节日安保")
        assert await _zone_levels(conn) == {"Z0": 3, "Z1": 3, "Z2": 3, "Z3": 3}
        done = await levels.set_level(S1_CMDR, conn, scope="station", target="S1", level="II", reason="盗窃上升")
        assert sorted(done["zones_changed"]) == ["Z0", "Z1", "Z2"]
        await levels.set_level(S1_CMDR, conn, scope="zone", target="Z1", level="I", reason="群体聚集")
        assert await _zone_levels(conn) == {"Z0": 2, "Z1": 1, "Z2": 2, "Z3": 3}
        assert await levels.clear_level(S1_CMDR, conn, scope="zone", target="Z1", reason="已平息")
        assert (await _zone_levels(conn))["Z1"] == 2
        audit = await conn.fetch("SELECT actor, action, details FROM audit_log WHERE action LIKE 'level.%' ORDER BY id")
        assert [(a["actor"], a["action"]) for a in audit] == [
            ("chief", "level.set"), ("li", "level.set"), ("li", "level.set"), ("li", "level.clear")]
        assert json.loads(audit[2]["details"])["reason"] == "群体聚集"
        feed = await conn.fetch("SELECT subject, severity, detail FROM alerts WHERE kind = 'zone_level' ORDER BY id")
        assert [f["subject"] for f in feed] == ["district", "station:S1", "zone:Z1", "zone:Z1"]
        assert feed[2]["severity"] == 1 and json.loads(feed[2]["detail"])["to"] == 1
        listed = await levels.list_levels(S1_CMDR, conn)
        assert [(r["scope"], r["level"]) for r in listed] == [("district", "III"), ("station", "II")]

    run_db(district.database_url, go)


def test_commanders_act_only_within_their_stations(district: Settings) -> None:
    async def go(conn: asyncpg.Connection) -> None:
        for scope, target in (("station", "S2"), ("zone", "Z3"), ("district", None)):
            with pytest.raises(Unauthorized):
                await levels.set_level(S1_CMDR, conn, scope=scope, target=target, level="I", reason="x")
        with pytest.raises(Unauthorized):
            await levels.set_level(ANALYST, conn, scope="zone", target="Z0", level="I", reason="x")
        assert await conn.fetchval("SELECT count(*) FROM alert_levels") == 0
        assert set((await _zone_levels(conn)).values()) == {0}
        # an S2 level is not listed to an S1 commander
        await levels.set_level(ADMIN, conn, scope="zone", target="Z3", level="II", reason="S2 的事")
        assert await levels.list_levels(S1_CMDR, conn) == []

    run_db(district.database_url, go)


@pytest.mark.parametrize("kwargs, message", [
    ({"level": "V"}, "unknown level"),
    ({"level": "II", "reason": "  "}, "needs a reason"),
    ({"level": "II", "reason": "x" * 501}, "1 to 500 characters of plain text"),
    ({"level": "II", "reason": "bad\x00text"}, "1 to 500 characters of plain text"),
    ({"level": "II", "until": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)}, "in the past"),
    ({"level": "II", "until": dt.datetime.now(dt.UTC) + dt.timedelta(days=400)}, "days away"),
    ({"level": "II", "until": dt.datetime(2099, 1, 1)}, "time zone"),
    ({"level": "II", "target": "Z9'; DROP TABLE zones; --"}, "no zone"),
])
def test_bad_input_is_a_clear_error_and_changes_nothing(district: Settings, kwargs: dict, message: str) -> None:
    args = {"scope": "zone", "target": "Z0", "reason": "ok", **kwargs}

    async def go(conn: asyncpg.Connection) -> None:
        with pytest.raises(QingzhiError, match=message):
            await levels.set_level(ADMIN, conn, **args)
        assert await conn.fetchval("SELECT count(*) FROM alert_levels") == 0
        assert await conn.fetchval("SELECT count(*) FROM zones") == 4

    run_db(district.database_url, go)


def test_an_expired_level_reverts_in_the_duty_loop(district: Settings) -> None:
    async def go(conn: asyncpg.Connection) -> None:
        await levels.set_level(ADMIN, conn, scope="district", target=None, level="III", reason="常态")
        await levels.set_level(ADMIN, conn, scope="zone", target="Z0", level="I", reason="演练",
                               until=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
        assert (await _zone_levels(conn))["Z0"] == 1
        await conn.execute("UPDATE alert_levels SET until = now() - interval '1 s' WHERE scope = 'zone'")
        done = await DutyLoop(district, "w1").round(conn)
        assert done["level_expiry"] == "1 expired"
        assert (await _zone_levels(conn))["Z0"] == 3
        row = await conn.fetchrow("SELECT actor, details FROM audit_log WHERE action = 'level.expire'")
        assert row["actor"] == "system" and json.loads(row["details"])["from"] == "I"
        assert (await DutyLoop(district, "w2").round(conn))["level_expiry"] == "0 expired"

    run_db(district.database_url, go)


def test_the_level_reaches_the_map_and_the_wall_feed(district: Settings) -> None:
    from dashboard.live import queries

    async def go(conn: asyncpg.Connection) -> None:
        before = await queries.overlays_token(conn)
        await levels.set_level(ADMIN, conn, scope="zone", target="Z2", level="II", reason="演唱会散场")
        assert await queries.overlays_token(conn) != before
        zones = {f["properties"]["id"]: f["properties"]["alert_level"]
                 for f in (await queries.areas(conn))["zones"]["features"]}
        assert zones["Z2"] == 2 and zones["Z0"] == 0
        feed = await conn.fetch("SELECT kind, zone FROM alerts WHERE acked_at IS NULL")
        assert [(f["kind"], f["zone"]) for f in feed] == [("zone_level", "Z2")]

    run_db(district.database_url, go)


def test_the_response_plan_file_is_validated_with_clear_errors(tmp_path: Path) -> None:
    plan = load_plan()
    assert plan.minimum(1, "commercial") == 4 and plan.minimum(0, "residential") == 1
    assert plan.minimum(2, "stadium") == 3   # an unknown class gets the level's largest minimum
    at = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)                     # 11:00 in Shanghai: the 08:00 shift
    assert plan.shift_start(at, "Asia/Shanghai") == dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)
    assert plan.shift_start(at.replace(hour=23), "Asia/Shanghai") == dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    good = DEFAULT_FILE.read_text(encoding="utf-8")
    for bad, message in ((good.replace("street_share = 0.6", "street_share = 6"), "levels.III.street_share"),
                         (good.replace("[levels.I]", "[levels.V]"), "levels must be exactly"),
                         (good.replace('counted_kinds = ["car"', 'counted_kinds = ["tank"'), "unknown unit kind"),
                         ("levels = [", "not valid TOML"),
                         (good + "\nsurprise = 1\n", "surprise")):
        with pytest.raises(QingzhiError, match=message):
            parse(bad, "plan.toml")
    with pytest.raises(QingzhiError, match="cannot read"):
        load_plan(tmp_path / "missing.toml")


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qingzhi", *args, "--database-url", settings.database_url],
                          capture_output=True, text=True, timeout=60)


def test_level_command_sets_lists_and_refuses(district: Settings) -> None:
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()
    done = _cli(district, "level", "set", "--station", "S1", "--level", "II", "--reason", "夜间盗窃", "--until", until)
    assert done.returncode == 0, done.stderr
    assert "station S1: level II" in done.stdout and "3 zone(s) changed" in done.stdout
    listed = json.loads(_cli(district, "level", "list", "--json").stdout)
    assert [(r["scope"], r["target"], r["level"], r["reason"]) for r in listed] == [("station", "S1", "II", "夜间盗窃")]
    for args, message in ((("--zone", "Z0", "--station", "S1"), "exactly one"),
                          (("--zone", "Z0", "--until", "tomorrow"), "not an ISO date or time"),
                          (("--zone", "Z0", "--as", "nobody"), "no active account")):
        bad = _cli(district, "level", "set", *args, "--level", "I", "--reason", "x")
        assert bad.returncode != 0 and message in bad.stderr, bad.stderr
    assert run_db(district.database_url, lambda c: c.fetchval("SELECT count(*) FROM alert_levels")) == 1


def test_duty_alerts_read_in_words_in_the_feed() -> None:
    from dashboard.live.components import build_alert_item

    base = {"id": 1, "ts": dt.datetime(2026, 11, 22, 1, 2, 3, tzinfo=dt.UTC), "severity": 2, "unit": None,
            "station": "S1", "acked_at": None, "acked_by": None}
    short = build_alert_item(alert={**base, "kind": "zone_short", "subject": "Z1", "zone": "Z1",
                                    "detail": {"need": 3, "have": 1}}, lang="en", tz="UTC", ackable=False)
    level = build_alert_item(alert={**base, "kind": "zone_level", "subject": "zone:Z1", "zone": "Z1",
                                    "detail": {"to": 1}}, lang="zh", tz="UTC", ackable=False)
    assert "Zone below its minimum" in str(short.to_plotly_json()) and "needs 3, has 1" in str(short.to_plotly_json())
    assert "巡区警戒等级变更" in str(level.to_plotly_json()) and "一级" in str(level.to_plotly_json())
