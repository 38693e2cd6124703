"""The wall's duty strip: the levels in force (most severe first), today's street presence and duty
fulfilment (qingzhi.core.presence.daily_figures) and how many zones are below their minimum now.
Refreshed every WALL_REFRESH_MS by an interval: the wall has no controls and runs for days."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from dash import Input, Output, State, dcc, html

from dashboard import ids
from dashboard.auth.session_cookies import current_actor
from dashboard.callbacks import CallbackSet
from dashboard.context import ctx
from dashboard.duty.components import pct
from dashboard.i18n import lang_of, t
from qingzhi.core import levels, presence
from qingzhi.core.access import scope

CALLBACKS = CallbackSet("duty_wall", "live.view")
WALL_REFRESH_MS = 30_000


def build_wall_strip() -> html.Div:
    """The empty strip and its interval (filled by `refresh`)."""
    return html.Div([dcc.Interval(id=ids.WALL_DUTY_TICK, interval=WALL_REFRESH_MS),
                     html.Div(id=ids.WALL_DUTY, className="qz-wall-duty-row")], className="qz-wall-duty")


async def _gather(conn: Any, actor: Any, timezone: str) -> tuple[list, list, int]:
    stations = scope(actor)
    today = dt.datetime.now(ZoneInfo(timezone)).date()
    rows = await conn.fetch(
        """SELECT l.scope, l.target, l.level FROM alert_levels l LEFT JOIN zones z ON l.scope = 'zone' AND z.id = l.target
           WHERE $1::text[] IS NULL OR l.scope = 'district' OR COALESCE(z.station, l.target) = ANY($1::text[])
           ORDER BY l.level, l.scope, l.target LIMIT 8""", stations)
    short = await conn.fetchval(
        """SELECT count(*) FROM zone_shortage s JOIN zones z ON z.id = s.zone
           WHERE $1::text[] IS NULL OR z.station = ANY($1::text[])""", stations)
    return [dict(r) for r in rows], await presence.daily_figures(conn, today, today, stations), short


@CALLBACKS.callback(Output(ids.WALL_DUTY, "children"), Input(ids.WALL_DUTY_TICK, "n_intervals"),
                    State(ids.LANG, "data"))
def refresh(_: int | None, lang: str | None) -> list:
    """Levels in force, today's two rates, zones short now."""
    app = ctx()
    lang = lang_of(lang, app.settings.language)
    in_force, today, short = app.db.run(_gather, current_actor("wall"), app.settings.timezone)
    sums = {k: sum(r[k] for r in today) for k in ("zone_hours", "zone_hours_seen", "required_unit_min",
                                                  "delivered_unit_min")}
    rates = t("duty.wall_today", lang).format(
        presence=pct(sums["zone_hours_seen"] / sums["zone_hours"] if sums["zone_hours"] else None),
        fulfilment=pct(sums["delivered_unit_min"] / sums["required_unit_min"] if sums["required_unit_min"] else None))
    chips = [html.Span(" ".join(x for x in (t("duty.scope." + r["scope"], lang), r["target"],
                                            levels.level_name(r["level"])) if x),
                       className=f"qz-level-chip lv-{r['level']}") for r in in_force]
    return [html.B(t("duty.wall", lang)), *chips, html.Span(rates, className="qz-wall-rates"),
            html.Span(t("duty.wall_short", lang).format(n=short), className="qz-wall-short" + (" on" if short else ""))]
