"""The briefing page's meeting tasks (督办): create one from the briefing shown, or mark a listed one
done. Both are core actions (qingzhi.core.briefing.tasks) that check `briefing.act` and audit."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dash
from dash import ALL as ANY_ID
from dash import Input, Output, State, no_update

from dashboard import ids
from dashboard.auth.session_cookies import current_actor
from dashboard.briefing.callbacks import PERIOD, SCREEN, period_from
from dashboard.callbacks import CallbackSet, clicked
from dashboard.context import ctx
from dashboard.i18n import lang_of, t
from qingzhi.core.briefing.period import parse_day
from qingzhi.core.briefing.tasks import complete_task, create_task
from qingzhi.errors import QingzhiError

CALLBACKS = CallbackSet("briefing_tasks", "briefing.act")


@CALLBACKS.callback(
    Output(ids.BRIEF_TASK_MSG, "children"),
    Input(ids.BRIEF_TASK_CREATE, "n_clicks"), Input({"type": ids.BRIEF_TASK_DONE_TYPE, "task": ANY_ID}, "n_clicks"),
    State(ids.BRIEF_TASK_TITLE, "value"), State(ids.BRIEF_TASK_STATION, "value"), State(ids.BRIEF_TASK_OFFICER, "value"),
    State(ids.BRIEF_TASK_DEADLINE, "date"), State(ids.BRIEF_TASK_RESULT, "value"), *PERIOD[:3],
    State(ids.LANG, "data"), prevent_initial_call=True,
)
def act_on_task(create: int | None, _: list, title: str | None, station: str | None, officer: str | None,
                deadline: str | None, result: str | None, kind: str | None, day: str | None, last: str | None,
                lang: str | None) -> str:
    """Create a task from this briefing, or mark a listed one done (core actions; audited there)."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    actor = current_actor(SCREEN)
    try:
        done = clicked()
        if done is not None:
            app.db.act(complete_task, actor, done.get("task"), result=result or "")
            return t("brief.task.completed", lang).format(id=done["task"])
        if dash.ctx.triggered_id != ids.BRIEF_TASK_CREATE or not create:
            return no_update
        zone = ZoneInfo(app.settings.timezone)
        until = dt.datetime.combine(parse_day(deadline, "deadline"), dt.time(23, 59, 59), zone)
        period = period_from(kind, day, last, app.settings.timezone)
        task = app.db.act(create_task, actor, title=title or "", deadline=until, period=period.label,
                          station=station or None, officer=officer)
        return t("brief.task.created", lang).format(id=task)
    except QingzhiError as exc:
        return t("brief.error", lang).format(msg=exc)
