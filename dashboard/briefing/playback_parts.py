"""The playback page's parts: the window bar, the map, the time slider with play/pause and speed;
and the window the bar describes, as the core's playback.Window."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from dash import dcc, html

from dashboard import ids
from dashboard.i18n import t
from dashboard.maps import PLAYBACK_MAP, build_map
from dashboard.pickers import date_picker
from qingzhi.config import Settings
from qingzhi.core.briefing.playback import Window
from qingzhi.core.briefing.period import parse_day
from qingzhi.errors import QingzhiError

SPEEDS = (10, 60, 300, 900)  # playback seconds per real second
HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def build_bar(*, lang: str, day: dt.date) -> html.Div:
    """Day, from and to (local HH:MM), call signs or all, only the map's view, load."""
    return html.Div([
        html.Label([t("pb.day", lang), date_picker(ids.PB_DAY, lang, day.isoformat())]),
        html.Label([t("pb.from", lang), dcc.Input(id=ids.PB_FROM, value="08:00", maxLength=5, className="bf-mid")]),
        html.Label([t("pb.to", lang), dcc.Input(id=ids.PB_TO, value="16:00", maxLength=5, className="bf-mid")]),
        html.Label([t("pb.units", lang), dcc.Input(id=ids.PB_UNITS, value="", maxLength=2000, className="bf-wide")]),
        dcc.Checklist(id=ids.PB_AREA, options=[{"label": t("pb.area", lang), "value": "area"}], value=[]),
        html.Button(t("pb.load", lang), id=ids.PB_LOAD, className="bf-btn"),
        html.Span(id=ids.PB_MSG, className="bf-meta"),
    ], className="bf-controls")


def build_player(*, lang: str, settings: Settings) -> html.Div:
    """The map, the clock, play/pause, speed and the time slider; the loaded data in a store."""
    return html.Div([
        build_map(config=PLAYBACK_MAP, settings=settings, lang=lang),
        html.Div([
            html.Button(t("pb.play", lang), id=ids.PB_PLAY, className="bf-btn", n_clicks=0),
            html.Label([t("pb.speed", lang), dcc.Dropdown(
                id=ids.PB_SPEED, value=60, clearable=False, style={"width": 110},
                options=[{"label": f"{s}×", "value": s} for s in SPEEDS])]),
            html.Span(id=ids.PB_CLOCK, className="pb-clock"),
        ], className="bf-controls"),
        dcc.Slider(id=ids.PB_SLIDER, min=0, max=1, value=0, step=1, marks=None, updatemode="drag",
                   allow_direct_input=False),
        dcc.Interval(id=ids.PB_TICK, interval=1000, disabled=True),
        dcc.Store(id=ids.PB_DATA),
    ])


def window_of(day: str | None, start: str | None, end: str | None, units: str | None,
              bbox: tuple[float, float, float, float] | None, tz: str) -> Window:
    """The core's Window for the bar's fields (an end before the start runs past midnight)."""
    date = parse_day(day, "day")
    times = []
    for text in (start, end):
        m = HHMM.match((text or "").strip())
        if not m:
            raise QingzhiError(t("pb.bad_time", "en"))
        times.append(dt.datetime.combine(date, dt.time(int(m[1]), int(m[2])), ZoneInfo(tz)))
    since, until = times
    if until <= since:
        until += dt.timedelta(days=1)
    names = tuple(u for u in re.split(r"[,\s，]+", units or "") if u)
    return Window(since, until, units=names or None, bbox=bbox)
