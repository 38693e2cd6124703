"""Dispatch against the real database and broker: assigning, acks, lifecycle, audit, alerts."""

from __future__ import annotations

import datetime as dt
import queue
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from dashboard import commands
from dashboard.context import AppContext
from dashboard.dispatch import queries as dispatch
from qingzhi.core import alert_rules, audit, incident_actions
from qingzhi.core.response_times import INTERVALS
from qingzhi.core.actor import Actor
from qingzhi.core.dispatch_config import DispatchConfig, load_config, save_setting
from qingzhi.core.lifecycle import TransitionError
from dashboard.db import Database
from dispatch_fixtures import Listener, app_context, run_db, seed_incident, seed_station, seed_unit, write_ack
from qingzhi.core.callers import hash_caller
from qingzhi.config import Settings
from qingzhi.errors import QingzhiError

DESK = Actor.person("值班长 张", "dispatch", role="commander")

PROTOCOL_CMD_FIELDS = {"id", "ts", "kind", "incident", "zone", "lat", "lon", "note", "by"}


@pytest.fixture
def app(settings: Settings) -> Iterator[AppContext]:
    """An app context (database pool + publisher) like the dashboard's, on this test's database."""
    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        await seed_unit(conn, "C01", 30.2760, 120.1560)
        await seed_unit(conn, "C02", 30.2800, 120.1600)
        await seed_incident(conn, "I1", priority=1)

    run_db(settings.database_url, seed)
    with app_context(settings) as ctx:
        yield ctx


def test_assign_publishes_exactly_one_protocol_command_and_updates_everything(app: AppContext) -> None:
    listener = Listener(app.settings.mqtt_url, f"{app.settings.topic_root}/#")
    try:
        cmd = commands.assign(app, DESK, "I1", "C01")
        topic, payload = listener.next()
        with pytest.raises(queue.Empty):
            listener.next(timeout=1.0)
    finally:
        listener.close()
    assert topic == f"{app.settings.topic_root}/S1/C01/cmd"
    assert set(payload) <= PROTOCOL_CMD_FIELDS
    assert set(payload) == {"id", "ts", "kind", "incident", "lat", "lon", "note", "by"}
    assert payload["kind"] == "dispatch" and payload["incident"] == "I1" and payload["by"] == DESK.label
    assert str(uuid.UUID(payload["id"])) == payload["id"] == cmd.id
    assert isinstance(payload["ts"], int) and abs(payload["ts"] / 1000 - dt.datetime.now().timestamp()) < 30
    assert (payload["lat"], payload["lon"]) == (30.2741, 120.1551)
    assert cmd.published

    async def state(conn: asyncpg.Connection) -> tuple:
        inc = await conn.fetchrow("SELECT state, assigned_at FROM incidents WHERE id = 'I1'")
        unit = await conn.fetchrow("SELECT status, incident, version FROM units WHERE id = 'C01'")
        other = await conn.fetchval("SELECT version FROM units WHERE id = 'C02'")
        row = await conn.fetchrow("SELECT published_at, unit, kind, context FROM commands WHERE id = $1", uuid.UUID(cmd.id))
        log = await audit.entries(conn, incident="I1")
        return inc, unit, other, row, log

    inc, unit, other, row, log = app.db.run(state)
    assert inc["state"] == "assigned" and inc["assigned_at"] is not None
    assert unit["status"] == "en_route" and unit["incident"] == "I1" and unit["version"] > other
    assert row["published_at"] is not None and row["unit"] == "C01" and row["kind"] == "dispatch"
    assert [e["action"] for e in log] == ["dispatch.assign", "incident.assigned"]
    assert log[0]["unit"] == "C01" and log[0]["screen"] == "dispatch" and log[0]["details"]["command"] == cmd.id
    # one action, one context: the command row and every audit entry it caused share it
    assert row["context"] is not None and {e["context"] for e in log} == {row["context"]}
    assert {e["actor"] for e in log} == {DESK.label}


def test_ack_shows_in_queue_and_missing_ack_raises_one_alert(app: AppContext) -> None:
    first = commands.assign(app, DESK, "I1", "C01")
    second = commands.assign(app, DESK, "I1", "C02")  # several units on one incident
    cfg = DispatchConfig()
    now = dt.datetime.now(dt.UTC)
    rows = app.db.run(dispatch.queue, cfg, now=now)
    assert rows[0]["units"] == ["C01", "C02"] and rows[0]["ack"] == ["waiting", "waiting"]

    app.db.run(write_ack, first.id, "C01")
    rows = app.db.run(dispatch.queue, cfg, now=now)
    assert rows[0]["ack"] == ["acked", "waiting"]

    later = now + dt.timedelta(seconds=cfg.ack_timeout_s + 1)
    assert app.db.run(dispatch.queue, cfg, now=later)[0]["ack"] == ["acked", "timeout"]

    async def age_commands(conn: asyncpg.Connection) -> None:
        await conn.execute("UPDATE commands SET ts = ts - interval '5 minutes'")

    app.db.run(age_commands)
    assert app.db.run(alert_rules.ack_timeouts, cfg) == 1
    assert app.db.run(alert_rules.ack_timeouts, cfg) == 0  # idempotent

    async def alerts(conn: asyncpg.Connection) -> list:
        return await conn.fetch("SELECT kind, subject, unit, incident FROM alerts WHERE kind = 'ack_timeout'")

    got = app.db.run(alerts)
    assert [(a["subject"], a["unit"], a["incident"]) for a in got] == [(second.id, "C02", "I1")]


def test_release_frees_unit_and_tells_the_device_then_it_can_be_reassigned(app: AppContext) -> None:
    commands.assign(app, DESK, "I1", "C01")
    app.db.run(seed_incident, "I2", priority=3)
    with pytest.raises(QingzhiError, match="release it there first"):
        commands.assign(app, DESK, "I2", "C01")  # it is on its way to I1
    with pytest.raises(QingzhiError, match="already assigned"):
        commands.assign(app, DESK, "I1", "C01")
    listener = Listener(app.settings.mqtt_url, f"{app.settings.topic_root}/+/C01/cmd")
    try:
        commands.release(app, DESK, "I1", "C01", reason="no_ack")
        _, payload = listener.next()
    finally:
        listener.close()
    assert payload["kind"] == "message" and payload["incident"] == "I1"
    commands.assign(app, DESK, "I2", "C01")
    detail = app.db.run(dispatch.incident_detail, "I1")
    assert detail["assignments"][0]["released_at"] is not None and detail["assignments"][0]["release_reason"] == "no_ack"

    # the device reports itself free again while I2 is still open: sending it elsewhere releases it from I2
    app.db.run(lambda c: c.execute("UPDATE units SET status = 'available' WHERE id = 'C01'"))
    app.db.run(seed_incident, "I3")
    commands.assign(app, DESK, "I3", "C01")
    i2 = app.db.run(dispatch.incident_detail, "I2")["assignments"][0]
    assert i2["release_reason"] == "reassigned" and i2["released_at"] is not None
    assert [e["action"] for e in app.db.run(audit.entries, incident="I2")][:2] == ["dispatch.release", "dispatch.assign"]


def test_broker_down_undoes_the_assignment(settings: Settings) -> None:
    down = settings.model_copy(update={"mqtt_url": "mqtt://127.0.0.1:1"})

    async def seed(conn: asyncpg.Connection) -> None:
        await seed_station(conn)
        await seed_unit(conn, "C01", 30.2760, 120.1560)
        await seed_incident(conn, "I1")

    run_db(settings.database_url, seed)
    ctx = AppContext(settings=down, db=Database(settings.database_url))
    try:
        with pytest.raises(QingzhiError, match="cannot reach MQTT broker"):
            commands.assign(ctx, DESK, "I1", "C01")

        async def counts(conn: asyncpg.Connection) -> tuple:
            return (await conn.fetchval("SELECT state FROM incidents"), await conn.fetchval("SELECT count(*) FROM commands"),
                    await conn.fetchval("SELECT status FROM units"), await conn.fetchval("SELECT count(*) FROM audit_log"))

        assert ctx.db.run(counts) == ("received", 0, "available", 0)
    finally:
        ctx.db.close()


def test_lifecycle_runs_forward_with_stamps_and_rejects_invalid_steps(app: AppContext) -> None:
    actor = Actor("tester", screen="test", role="admin")
    with pytest.raises(TransitionError, match="received: it cannot go to on_scene"):
        app.db.act(incident_actions.advance, actor, "I1", "on_scene")
    with pytest.raises(TransitionError, match="not a step a commander sets directly"):
        app.db.act(incident_actions.advance, actor, "I1", "closed")
    commands.assign(app, DESK, "I1", "C01")
    app.db.act(incident_actions.advance, actor, "I1", "on_scene")
    with pytest.raises(TransitionError, match="on_scene: it cannot go to en_route"):  # never backwards
        app.db.act(incident_actions.advance, actor, "I1", "en_route")
    with pytest.raises(TransitionError, match="cannot go to closed"):
        app.db.act(incident_actions.record_review, Actor("lead", role="admin"), "I1", "review", result="ok", satisfaction=5)
    released = app.db.act(incident_actions.advance, actor, "I1", "handled")
    assert released == ["C01"]
    with pytest.raises(QingzhiError, match="satisfaction must be 1 to 5"):
        app.db.act(incident_actions.record_review, Actor("lead", role="admin"), "I1", "feedback", result="resolved", satisfaction=9)
    app.db.act(incident_actions.record_review, Actor("officer", role="admin"), "I1", "feedback", result="resolved", satisfaction=4)
    app.db.act(incident_actions.record_review, Actor("lead", role="admin"), "I1", "review", result="approved", satisfaction=5)
    with pytest.raises(TransitionError, match="finished"):
        app.db.act(incident_actions.cancel, actor, "I1", reason="x")

    detail = app.db.run(dispatch.incident_detail, "I1")
    assert detail["state"] == "closed"
    stamps = [detail[c] for c in ("ts", "assigned_at", "on_scene_at", "handled_at", "feedback_at", "closed_at")]
    assert all(s is not None for s in stamps) and stamps == sorted(stamps)
    assert detail["en_route_at"] is None  # a skipped step is not invented
    reviews = app.db.run(incident_actions.reviews, "I1")
    assert [(r["step"], r["by_whom"], r["result"], r["satisfaction"]) for r in reviews] == [
        ("feedback", "officer", "resolved", 4), ("review", "lead", "approved", 5)]
    assert app.db.run(lambda c: c.fetchval("SELECT status FROM units WHERE id = 'C01'")) == "available"
    actions = [e["action"] for e in app.db.run(audit.entries, incident="I1")]
    assert actions == ["incident.closed", "incident.feedback", "incident.handled", "incident.on_scene",
                       "dispatch.assign", "incident.assigned"]


def test_cancel_and_merge(app: AppContext) -> None:
    app.db.run(seed_incident, "I2")
    actor = Actor("tester", screen="test", role="admin")
    with pytest.raises(TransitionError, match="into itself"):
        app.db.act(incident_actions.merge, actor, "I2", "I2")
    with pytest.raises(QingzhiError, match="no incident 'NOPE'"):
        app.db.act(incident_actions.merge, actor, "I2", "NOPE")
    app.db.act(incident_actions.merge, actor, "I2", "I1")
    assert app.db.run(dispatch.incident_detail, "I1")["duplicates"] == ["I2"]
    with pytest.raises(QingzhiError, match="give a reason"):
        app.db.act(incident_actions.cancel, actor, "I1", reason=" ")
    app.db.act(incident_actions.cancel, actor, "I1", reason="false call")
    app.db.run(seed_incident, "I3")
    with pytest.raises(TransitionError, match="merge into an open incident"):
        app.db.act(incident_actions.merge, actor, "I3", "I1")
    assert app.db.run(dispatch.queue, DispatchConfig(), now=dt.datetime.now(dt.UTC))[0]["id"] == "I3"


def test_audit_log_refuses_update_delete_truncate(app: AppContext) -> None:
    commands.assign(app, DESK, "I1", "C01")
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            app.db.run(lambda c, s=sql: c.execute(s))
    assert app.db.run(lambda c: c.fetchval("SELECT count(*) FROM audit_log")) == 2


def test_overdue_in_queue_and_alerts(app: AppContext) -> None:
    cfg = DispatchConfig()
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    app.db.run(seed_incident, "P1OLD", priority=1, ts=old)
    app.db.run(seed_incident, "P4OLD", priority=4, ts=old)
    rows = {r["id"]: r for r in app.db.run(dispatch.queue, cfg, now=dt.datetime.now(dt.UTC))}
    assert rows["P1OLD"]["overdue"] == "assign" and rows["P4OLD"]["overdue"] is None
    assert rows["P1OLD"]["waited_s"] >= 119
    assert app.db.run(alert_rules.overdue, cfg) == 1
    assert app.db.run(alert_rules.overdue, cfg) == 0


def test_settings_are_validated(app: AppContext) -> None:
    app.db.act(save_setting, Actor("lead", role="admin"), "ack_timeout_s", 12)
    assert app.db.run(load_config).ack_timeout_s == 12
    with pytest.raises(QingzhiError, match="bad dispatch setting ack_timeout_s"):
        app.db.act(save_setting, Actor("lead", role="admin"), "ack_timeout_s", -3)
    with pytest.raises(QingzhiError, match="unknown dispatch setting"):
        app.db.act(save_setting, Actor("lead", role="admin"), "nope", 1)


def test_form_incident_validation_and_station(app: AppContext) -> None:
    desk, kw = Actor("desk", role="admin"), {"tz": "Asia/Shanghai", "caller_key": "k"}
    with pytest.raises(QingzhiError, match="bad location"):
        app.db.act(incident_actions.create_incident, desk, lat=0.0, lon=0.0, type="theft.ebike", priority=3, **kw)
    with pytest.raises(QingzhiError, match="bad incident type"):
        app.db.act(incident_actions.create_incident, desk, lat=30.27, lon=120.15, type="偷 车", priority=3, **kw)
    with pytest.raises(QingzhiError, match="priority"):
        app.db.act(incident_actions.create_incident, desk, lat=30.27, lon=120.15, type="theft", priority=7, **kw)
    iid = app.db.act(incident_actions.create_incident, desk, lat=30.27, lon=120.15, type="Theft.Ebike", priority=2,
                     caller="138-0000 1111", **kw)
    row = app.db.run(lambda c: c.fetchrow("SELECT * FROM incidents WHERE id = $1", iid))
    assert row["source"] == "form" and row["station"] == "S1" and row["type"] == "theft.ebike"
    assert row["caller_hash"] == hash_caller("k", "13800001111") and "1111" not in row["caller_hash"]
    assert app.db.run(audit.entries)[0]["action"] == "incident.create"


def test_audit_command_lists_and_exports_csv(app: AppContext, tmp_path) -> None:
    import csv
    import subprocess
    import sys
    from pathlib import Path

    commands.assign(app, DESK, "I1", "C01")
    root = Path(__file__).resolve().parent.parent
    run = lambda *a: subprocess.run([sys.executable, "-m", "qingzhi", "audit", "--database-url", app.settings.database_url, *a],
                                    cwd=root, capture_output=True, text=True, timeout=60)
    listed = run("--limit", "10")
    assert listed.returncode == 0 and "dispatch.assign" in listed.stdout and "C01" in listed.stdout
    out = tmp_path / "audit.csv"
    exported = run("--export", str(out))
    assert exported.returncode == 0 and "wrote 2 audit entries" in exported.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["action"] for r in rows] == ["incident.assigned", "dispatch.assign"]
    assert rows[1]["unit"] == "C01" and rows[1]["ts"].endswith("+08:00")
    # an export is audited, and takes every entry by default (more than a listing's 100), or says where it cut
    app.db.run(lambda c: c.executemany("INSERT INTO audit_log (actor, action) VALUES ('x', 'test.filler')",
                                       [()] * 150))
    everything = run("--export", str(out))
    assert everything.returncode == 0 and "wrote 153 audit entries" in everything.stdout
    assert "newest" not in everything.stdout and len(list(csv.DictReader(out.open(encoding="utf-8")))) == 153
    cut = run("--export", str(out), "--limit", "5")
    assert "wrote 5 audit entries" in cut.stdout and "the newest 5: older entries, if any, are not in it" in cut.stdout
    exports = app.db.run(lambda c: c.fetch("SELECT actor, details FROM audit_log WHERE action = 'export' ORDER BY id"))
    assert len(exports) == 3 and all(e["actor"].startswith("cli:") for e in exports)



def test_audit_export_takes_the_whole_log_a_page_at_a_time(app: AppContext, tmp_path) -> None:
    """More entries than one read returns: every one, oldest first, once; --since/--until narrow it; a failed
    export leaves an earlier file as it was."""
    import csv
    import json
    import subprocess
    import sys
    from pathlib import Path

    from qingzhi.core.audit import ROWS_MAX
    n = 2 * ROWS_MAX + 3
    app.db.run(lambda c: c.executemany(
        "INSERT INTO audit_log (ts, actor, action, details) VALUES ($1, 'x', 'test.filler', $2::jsonb)",
        [(dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=k), json.dumps({"k": k})) for k in range(n)]))
    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "audit.csv"

    def export(*args: str, url: str = app.settings.database_url) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "qingzhi", "audit", "--database-url", url, "--timezone", "UTC",
                               "--export", str(out), *args], cwd=root, capture_output=True, text=True, timeout=120)

    whole = export()
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert whole.returncode == 0 and f"wrote {n} audit entries" in whole.stdout
    assert out.stat().st_mode & 0o777 == 0o600  # a new export is its owner's only
    assert [json.loads(r["details"])["k"] for r in rows] == list(range(n))     # oldest first, each once
    part = export("--since", "2026-11-01T10:00", "--until", "2026-11-01T12:30")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert part.returncode == 0 and [json.loads(r["details"])["k"] for r in rows] == list(range(600, 750))
    [last] = app.db.run(lambda c: c.fetch("SELECT details FROM audit_log WHERE action = 'export' ORDER BY id DESC LIMIT 1"))
    assert json.loads(last["details"])["rows"] == 150 and json.loads(last["details"])["filters"]["since"].startswith(
        "2026-11-01T10:00")
    before = out.read_bytes()
    down = export(url="postgresql://nobody@127.0.0.1:1/none")
    assert down.returncode != 0 and out.read_bytes() == before and not list(tmp_path.glob(".*.part"))
    bad = export("--since", "yesterday")
    assert bad.returncode != 0 and "--since" in bad.stderr and out.read_bytes() == before


def test_stations_types_and_groups_are_shown_by_name(app: AppContext) -> None:
    """The incident's station and the response-time groups in words, not as ids and codes."""
    from dashboard.dispatch.components import build_head
    from dashboard.dispatch.panels import build_times
    from dashboard.stations import station_names
    detail = app.db.run(dispatch.incident_detail, "I1")
    assert (detail["station"], detail["station_zh"], detail["station_en"]) == ("S1", "S1派出所", "S1 station")
    names = station_names(app.db, "zh")
    assert names == {"S1": "S1派出所"} and station_names(app.db, "en") == {"S1": "S1 station"}

    def first_cells(by: str, grp: str, lang: str) -> str:
        row = {"grp": grp, "incidents": 3, **{f"{k}_{m}": 60.0 for k in INTERVALS for m in ("p50", "p90", "n")}}
        table = build_times([row], by=by, names=names, lang=lang)[0]
        return table.children[1].children[0].children[0].children
    assert first_cells("station", "S1", "zh") == "S1派出所" and first_cells("station", "-", "zh") == "—"
    assert first_cells("type", "theft.ebike", "zh") == "盗窃电动车" and first_cells("type", "theft.ebike", "en") == "E-bike theft"
    assert first_cells("hour", "08", "en") == "08:00" and first_cells("all", "all", "zh") == "全部"
    assert first_cells("priority", "1", "en") != "1"
    assert "S1 station" in str(build_head(detail, lang="en", tz="Asia/Shanghai"))
    assert "S1派出所" in str(build_head(detail, lang="zh", tz="Asia/Shanghai"))
