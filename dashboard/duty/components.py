"""The duty page's parts: the level form, the levels in force, the plan (map + ticked table), what was sent."""

from __future__ import annotations

import math
from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.i18n import t
from dashboard.maps import DUTY_MAP, build_map, latlng_for_tiles
from qingzhi.config import Settings
from qingzhi.core.response_plan import LEVEL_NAMES

ACK_POLL_MS = 2000


def build_level_form(*, lang: str, targets: dict[str, list[str]]) -> html.Div:
    """Scope, target, level, reason, hours in force, and the button."""
    scopes = [{"label": t(f"duty.scope.{s}", lang), "value": s} for s in ("zone", "station", "district")]
    return html.Div([
        html.Label([t("duty.scope", lang), dcc.Dropdown(scopes, "zone", id=ids.DUTY_SCOPE, clearable=False)]),
        html.Label([t("duty.target", lang), dcc.Dropdown(targets["zone"], id=ids.DUTY_TARGET)]),
        html.Label([t("duty.level", lang), dcc.Dropdown(list(LEVEL_NAMES), "II", id=ids.DUTY_LEVEL, clearable=False)]),
        html.Label([t("duty.reason", lang), dcc.Input(id=ids.DUTY_REASON, maxLength=500, debounce=False)]),
        html.Label([t("duty.hours", lang), dcc.Input(id=ids.DUTY_HOURS, type="number", min=0.25, max=720, step=0.25)]),
        html.Button(t("duty.set", lang), id=ids.DUTY_SET, className="duty-btn", n_clicks=0),
        html.Div(id=ids.DUTY_SET_MSG, className="duty-msg"),
    ], className="duty-form")


def build_levels(rows: list[dict[str, Any]], *, lang: str, tz_fmt: Any) -> Any:
    """The levels in force as a short list."""
    if not rows:
        return html.Div(t("duty.none", lang), className="duty-none")
    return html.Ul([
        html.Li([html.B(f"{t('duty.scope.' + r['scope'], lang)} {r['target']} · {r['level']}", className=f"lv-{r['level']}"),
                 f" — {r['reason']} ({r['set_by']}" + (f", → {tz_fmt(r['until'])}" if r["until"] else "") + ")"])
        for r in rows], className="duty-levels")


def move_options(moves: list[dict[str, Any]], lang: str,
                 zone_names: dict[str, str] | None = None) -> list[dict[str, str]]:
    """One tick box per move: unit, from, zone by name (and the hotspot cell it goes to in it), level, ETA."""
    named = zone_names or {}
    return [{"label": f"{m['unit']}  {named.get(m['from_zone'], m['from_zone']) or '—'} → {named.get(m['zone'], m['zone'])}"
                      + (f" {t('duty.hotspot', lang)} {m['hotspot']}" if m.get("hotspot") else "")
                      + f"  ({m['level']})  {m['eta_s'] / 60:.1f} min",
             "value": f"{m['unit']}|{m['zone']}" + (f"|{m['hotspot']}" if m.get("hotspot") else "")} for m in moves]


def recall_options(recalls: list[dict[str, Any]], *, lang: str) -> list[dict[str, str]]:
    """One tick box per unit a lowered level no longer needs."""
    return [{"label": t("duty.recall_line", lang).format(**r), "value": r["unit"]} for r in recalls]


def build_page(*, settings: Settings, lang: str, targets: dict[str, list[str]], zones: dict[str, Any]) -> html.Div:
    """The whole page: form and levels on the left, the map in the middle, the plan on the right."""
    return html.Div([
        dcc.Store(id=ids.DUTY_VERSION, data=0),
        dcc.Store(id=ids.DUTY_SENT, data=[]),
        dcc.Interval(id=ids.DUTY_TICK, interval=ACK_POLL_MS),
        html.Div([
            html.H2(t("duty.title", lang), className="duty-title"),
            build_level_form(lang=lang, targets=targets),
            html.H3(t("duty.levels", lang)),
            html.Div(id=ids.DUTY_LEVELS),
            html.H3(t("duty.suggestions", lang)),
            html.Div(id=ids.DUTY_SUGGESTIONS),
            html.Div(id=ids.DUTY_SUGG_MSG, className="duty-msg"),
        ], className="duty-side"),
        html.Div(_fitted(build_map(config=DUTY_MAP, settings=settings, lang=lang, data={"zones": zones}), zones,
                         settings), className="duty-mapbox"),
        html.Div([
            html.H3(t("duty.plan", lang)),
            html.Button(t("duty.refresh", lang), id=ids.DUTY_REFRESH, className="duty-btn ghost", n_clicks=0),
            html.Div(id=ids.DUTY_TOTALS, className="duty-totals"),
            dcc.Checklist(id=ids.DUTY_MOVES, options=[], value=[], className="duty-moves",
                          labelClassName="duty-move"),
            html.Div(id=ids.DUTY_SHORT, className="duty-short"),
            html.Button(t("duty.apply", lang), id=ids.DUTY_APPLY, className="duty-btn", n_clicks=0),
            html.Div([html.H4(t("duty.recalls", lang)),
                      dcc.Checklist(id=ids.DUTY_RECALLS, options=[], value=[], className="duty-moves",
                                    labelClassName="duty-move"),
                      html.Button(t("duty.recall", lang), id=ids.DUTY_RECALL, className="duty-btn ghost", n_clicks=0)],
                     className="duty-recall-box"),
            html.Div(id=ids.DUTY_APPLY_MSG, className="duty-msg"),
            html.H3(t("duty.sent", lang)),
            html.Div(id=ids.DUTY_SENT_TABLE),
            html.H3(t("duty.presence", lang)),
            dcc.Loading(html.Div(id=ids.DUTY_PRESENCE)),
        ], className="duty-plan"),
    ], className="duty-page")


def _fitted(m: Any, zones: dict[str, Any], settings: Settings) -> Any:
    """The map centred on the zones in scope, at the largest zoom that shows them all in a ~800 × 600 px
    map (react-leaflet ignores `bounds` when a centre and zoom are given, and needs those)."""
    points = [pt for f in zones["features"] if f["geometry"].get("type") == "Polygon"
              for pt in f["geometry"]["coordinates"][0]]
    if points:
        lons, lats = [p[0] for p in points], [p[1] for p in points]
        lat0 = (min(lats) + max(lats)) / 2
        span_x = max(max(lons) - min(lons), 1e-4) / 360 * 256
        span_y = max(max(lats) - min(lats), 1e-4) / 360 * 256 / math.cos(math.radians(lat0))
        m.center = latlng_for_tiles(lat0, (min(lons) + max(lons)) / 2, settings)
        m.zoom = max(3, min(17, math.floor(min(math.log2(800 / span_x), math.log2(600 / span_y)))))
    return m


def build_sent(sent: list[dict[str, Any]], acked: dict[str, bool], *, lang: str) -> Any:
    """The commands sent from this page, with their acknowledgement."""
    if not sent:
        return None
    head = html.Tr([html.Th(t(f"duty.col.{c}", lang)) for c in ("unit", "zone", "command", "state")])
    rows = []
    for r in sent:
        if "error" in r:
            state, css = t("duty.refused", lang).format(error=r["error"]), "refused"
        elif acked.get(r.get("command", "")):
            state, css = t("duty.acked", lang), "acked"
        else:
            state, css = t("duty.waiting", lang), "waiting"
        rows.append(html.Tr([html.Td(r.get("unit", "")), html.Td(r.get("zone", "")),
                             html.Td((r.get("command") or "")[:8]), html.Td(state, className=f"duty-state {css}")]))
    return html.Table([head, *rows], className="duty-sent")


def build_suggestions(rows: list[dict[str, Any]], *, lang: str, can_act: bool,
                      names: dict[str, dict[str, str]] | None = None) -> Any:
    """Open suggestions (the station or zone by name) with their reason in words and, for a
    commander, accept / dismiss."""
    if not rows:
        return html.Div(t("duty.no_suggestions", lang), className="duty-none")
    items = []
    for r in rows:
        name = (names or {}).get(r["scope"], {}).get(r["target"])
        # a name says what it is (文新派出所, 转塘1号巡区); a bare id needs the scope word before it
        line = t("duty.suggest_line", lang).format(scope="" if name else t(f"duty.scope.{r['scope']}", lang),
                                                   target=name or r["target"], current=r["current"],
                                                   suggested=r["suggested"]).strip()
        why = r["why"].split(" / ")[0 if lang == "zh" else -1]
        buttons = [html.Button(t(f"duty.{a}", lang), id=ids.duty_suggestion(a, r["id"]), n_clicks=0,
                               className=f"duty-btn small {a}") for a in ("accept", "dismiss")] if can_act else []
        items.append(html.Div([html.B(line), html.Div(why, className="duty-why"), *buttons], className="duty-sugg"))
    return items


def pct(x: float | None) -> str:
    """A share as a whole percentage, '—' when nothing was measured."""
    return "—" if x is None else f"{x * 100:.0f} %"


def build_presence(coverage: dict[str, Any], spots: list[dict[str, Any]], *, lang: str,
                   zone_names: dict[str, str] | None = None) -> html.Div:
    """This shift's two rates; per zone its minimum and the share of the last hour and shift it was met;
    per hotspot its visits in the last two hours against the pattern."""
    shift = coverage["shift"]
    head = html.Tr([html.Th(t(f"duty.col.{c}", lang)) for c in ("zone", "need", "hour", "shift")])
    named = zone_names or {}
    rows = [html.Tr([html.Td(named.get(z, z)), html.Td(f["need"]), html.Td(pct(f["met_last_hour"])), html.Td(pct(f["met_shift"]))],
                    className="short" if (f["met_last_hour"] or 0) < 1 else "")
            for z, f in sorted(coverage["zones"].items())]
    return html.Div([
        html.Div(t("duty.presence_rates", lang).format(presence=pct(shift["presence_rate"]),
                                                       fulfilment=pct(shift["fulfilment_rate"])), className="duty-rates"),
        html.Table([head, *rows], className="duty-sent duty-cover"),
        html.H4(t("duty.hotspots", lang)) if spots else None,
        html.Table([html.Tr([html.Th(t(f"duty.col.{c}", lang)) for c in ("hotspot", "visits", "since", "pattern")]),
                    *[html.Tr([html.Td(f"{s['station']} · {s['cell'][-6:]} ({s['incidents']})"), html.Td(s["visits"]),
                               html.Td("—" if s["minutes_since_visit"] is None else f"{s['minutes_since_visit']} min"),
                               html.Td(s["pattern"])], className="short" if s["due"] else "") for s in spots]],
                   className="duty-sent duty-cover") if spots else None,
    ])
