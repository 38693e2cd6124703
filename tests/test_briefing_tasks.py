"""Meeting tasks (督办): created and completed through the core actions (permission, station
scope, audit, clear errors for bad input), and carried into later briefings as done / overdue."""

from __future__ import annotations

import datetime as dt

import pytest

from briefing_fixtures import D, TZ, at, seed_briefing
from dispatch_fixtures import run_db
from qingzhi.core.access import Unauthorized
from qingzhi.core.actor import Actor
from qingzhi.core.briefing.build import build_briefing
from qingzhi.core.briefing.config import load_config
from qingzhi.core.briefing.period import period_of
from qingzhi.core.briefing.tasks import complete_task, create_task, status_at
from qingzhi.errors import QingzhiError

CHIEF = Actor.person("chief", role="commander")
S1_CHIEF = Actor.person("s1chief", role="commander", stations=frozenset({"S1"}))
ANALYST = Actor.person("ana", role="analyst")
SOON = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)


def test_create_and_complete_are_checked_and_audited(database_url: str) -> None:
    run_db(database_url, seed_briefing)

    async def go(conn):  # noqa: ANN001, ANN202 - a test's local helper
        task = await create_task(CHIEF, conn, title="  加强  巡逻 ", deadline=SOON, period="2026-11-21",
                                 station="S1", officer="张警官")
        with pytest.raises(Unauthorized):
            await create_task(ANALYST, conn, title="x", deadline=SOON, period="p")
        with pytest.raises(Unauthorized):  # a station commander cannot task another station, nor the centre
            await create_task(S1_CHIEF, conn, title="x", deadline=SOON, period="p", station="S2")
        with pytest.raises(Unauthorized):
            await create_task(S1_CHIEF, conn, title="x", deadline=SOON, period="p")
        for kwargs, message in (
            ({"title": " "}, "needs its title"), ({"title": "x" * 201}, "1 to 200"),
            ({"title": "a\x00b"}, "plain text"), ({"deadline": SOON.replace(tzinfo=None)}, "time zone"),
            ({"deadline": SOON + dt.timedelta(days=400)}, "a year ahead"),
            ({"deadline": SOON - dt.timedelta(days=10)}, "from today"), ({"station": "S9"}, "no station 'S9'"),
            ({"officer": "y" * 65}, "officer must be"),
        ):
            with pytest.raises(QingzhiError, match=message):
                await create_task(CHIEF, conn, **{"title": "ok", "deadline": SOON, "period": "p", **kwargs})
        with pytest.raises(Unauthorized):
            await complete_task(ANALYST, conn, task, result="done")
        with pytest.raises(QingzhiError, match="needs its result"):
            await complete_task(S1_CHIEF, conn, task, result="  ")
        await complete_task(S1_CHIEF, conn, task, result="已增派巡逻")
        with pytest.raises(QingzhiError, match="already done"):
            await complete_task(CHIEF, conn, task, result="again")
        with pytest.raises(QingzhiError, match="no task 999"):
            await complete_task(CHIEF, conn, 999, result="x")
        row = await conn.fetchrow("SELECT * FROM briefing_tasks WHERE id = $1", task)
        log = await conn.fetch("SELECT actor, action, details FROM audit_log ORDER BY id")
        return dict(row), [(r["actor"], r["action"]) for r in log], await conn.fetchval("SELECT count(*) FROM briefing_tasks")

    row, log, count = run_db(database_url, go)
    assert (row["title"], row["officer"], row["done_by"], row["result"]) == ("加强 巡逻", "张警官", "s1chief", "已增派巡逻")
    assert log == [("chief", "briefing.task.create"), ("s1chief", "briefing.task.done")] and count == 1


def test_tasks_carry_into_later_briefings_as_done_or_overdue(database_url: str) -> None:
    run_db(database_url, seed_briefing)
    made = at(D - dt.timedelta(days=1), 9)
    rows = [  # id, station, deadline, done_at
        (1, "S1", at(D, 18), at(D, 12)),                       # done within the day
        (2, "S1", at(D, 12), None),                            # deadline passed in the day, never done
        (3, "S2", at(D + dt.timedelta(days=5), 0), None),      # still open at the day's end
        (4, None, at(D, 12), at(D, 20)),                       # done late, but done by the day's end
        (5, "S1", at(D, 12), at(D - dt.timedelta(days=1), 10)),  # done before the day: not carried
    ]
    run_db(database_url, lambda c: c.executemany(
        """INSERT INTO briefing_tasks (id, created_at, created_by, period, station, title, deadline, done_at, done_by)
           VALUES ($1, $2, 'chief', '2026-11-20', $3, 'task ' || $1::bigint, $4, $5,
                   CASE WHEN $5::timestamptz IS NULL THEN NULL ELSE 'x' END)""", [(i, made, *r) for i, *r in rows]))

    def statuses(actor: Actor) -> dict[int, str]:
        async def go(conn):  # noqa: ANN001, ANN202
            return await build_briefing(actor, conn, period_of("day", D, TZ), load_config())
        return {t["id"]: t["status"] for t in run_db(database_url, go)["tasks"]}

    assert statuses(CHIEF) == {1: "done", 2: "overdue", 3: "open", 4: "done"}
    assert statuses(S1_CHIEF) == {1: "done", 2: "overdue"}  # their station's tasks only
    assert status_at({"done_at": None, "deadline": at(D, 12)}, at(D, 11)) == "open"
