"""UI factories of the live map and wall pages: keyword-only `build_*` functions returning
component trees (the map itself is dashboard.maps.build_map).

Pages compose these and never build markup themselves; the JS in assets/ finds the live
parts by id (dashboard/ids.py) or by `data-*` attributes set here.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.cameras.components import build_view_button
from dashboard.formats import fmt_time
from dashboard.i18n import t
from dashboard.maps import EMPTY_COLLECTION
from qingzhi.core.streams import StreamPolicy
from qingzhi.core.vocab import CAM_STATES, ON_DUTY, UNIT_KINDS



def build_count_tiles(*, lang: str, compact: bool = False) -> html.Div:
    """Live counters; numbers are filled in by assets/js/40_live_panel.js (data-count keys)."""

    def tile(key: str, label: str, css: str = "") -> html.Div:
        return html.Div(
            [html.Div("–", className="qz-count-n", **{"data-count": key}), html.Div(label, className="qz-count-label")],
            className=f"qz-count {css}",
        )

    tiles = [tile("on_duty", t("live.on_duty", lang), "qz-count-main")]
    tiles += [tile(s, t(f"status.{s}", lang), f"qz-t-{s}") for s in ON_DUTY]
    tiles += [
        tile("cam_recording", t("live.cam_recording", lang), "qz-t-cam"),
        tile("cam_streaming", t("live.cam_streaming", lang), "qz-t-cam"),
        tile("stale", t("live.stale", lang), "qz-t-stale"),
        tile("lost", t("live.lost", lang), "qz-t-lost"),
        tile("sos", t("live.sos", lang), "qz-count-sos"),
    ]
    incidents = html.Div(
        [html.Div(t("live.open_incidents", lang), className="qz-count-label")]
        + [
            html.Span([t(f"priority.{p}", lang), " ", html.B("–", **{"data-count": f"p{p}"})], className=f"qz-prio p{p}")
            for p in (1, 2, 3, 4)
        ],
        className="qz-count-incidents",
    )
    return html.Div([html.Div(tiles, className="qz-count-grid"), incidents],
                    id=ids.LIVE_COUNTS, className="qz-counts" + (" compact" if compact else ""))


def _alert_detail(alert: dict[str, Any], lang: str) -> str:
    detail = alert.get("detail") or {}
    parts = []
    if alert["kind"] == "cam_batt_low" and detail.get("batt") is not None:
        parts.append(f"{t('live.cam_battery', lang)} {detail['batt']:.0f}%")
    level = detail.get("to", detail.get("level"))
    if alert["kind"] == "zone_level" and level is not None:
        parts.append(t(f"live.zone_level.{level}", lang))
    if alert["kind"] == "zone_short" and "need" in detail:
        parts.append(t("live.zone_short", lang).format(need=detail["need"], have=detail.get("have", "?")))
    if alert.get("incident"):
        parts.append(f"{t('live.incident', lang)} {alert['incident']}")
    return " · ".join(parts)


def build_alert_item(*, alert: dict[str, Any], lang: str, tz: str, ackable: bool) -> html.Div:
    """One alert: time, what, who/where, and its acknowledge button or who acknowledged it."""
    acked = alert.get("acked_at") is not None
    if acked:
        action: Any = html.Div(
            t("live.acked", lang).format(who=alert["acked_by"], time=fmt_time(alert["acked_at"], tz)),
            className="qz-alert-acked",
        )
    elif ackable:
        action = html.Button(t("live.ack", lang), id=ids.live_ack(alert["id"]), className="qz-ack", n_clicks=0)
    else:
        action = None
    css = f"qz-alert sev-{alert['severity']} kind-{alert['kind']}" + (" acked" if acked else "")
    if alert["kind"] == "sos" and not acked:
        css += " qz-flash"
    return html.Div(
        [
            html.Div([html.Span(fmt_time(alert["ts"], tz), className="qz-alert-time"),
                      html.Span(t(f"live.alert.{alert['kind']}", lang), className="qz-alert-kind")],
                     className="qz-alert-head"),
            html.Div([html.B(alert["subject"]), " ",
                      html.Span(alert.get(f"station_{lang}") or alert.get("station") or "", className="qz-alert-st"),
                      " ", html.Span(_alert_detail(alert, lang))], className="qz-alert-body"),
            action,
        ],
        className=css,
        **({"data-unit": alert["unit"]} if alert.get("unit") else {}),
    )


def build_alert_feed(*, feed: dict[str, Any], lang: str, tz: str, ackable: bool) -> list:
    """The feed's items, or a quiet 'no alerts' line."""
    if not feed["items"]:
        return [html.Div(t("live.no_alerts", lang), className="qz-alert-none")]
    return [build_alert_item(alert=a, lang=lang, tz=tz, ackable=ackable) for a in feed["items"]]


def build_alert_panel(*, lang: str) -> html.Div:
    """Heading with the open count, and the feed container the JS fills."""
    return html.Div(
        [
            html.Div([html.Span(t("live.alerts", lang)), html.Span("", id=ids.LIVE_ALERTS_OPEN, className="qz-badge")],
                     className="qz-panel-title"),
            html.Div(id=ids.LIVE_ALERTS, className="qz-alert-feed"),
        ],
        className="qz-alert-panel",
    )


def _row(label: str, value: Any) -> html.Tr:
    return html.Tr([html.Th(label), html.Td(value)])


def build_unit_details(*, unit: dict[str, Any] | None, unit_id: str | None, trail_n: int, lang: str,
                       tz: str, stream_policy: StreamPolicy | None = None) -> list:
    """The details card of the selected unit (or a hint when none is selected); its live-view button
    only when its stream may be played (`stream_policy`: the allow-list and URL template)."""
    if not unit_id:
        return [html.Div(t("live.details_hint", lang), className="qz-hint")]
    if unit is None:
        return [html.Div(t("live.unknown_unit", lang).format(unit=unit_id), className="qz-hint")]
    station = unit["station_zh" if lang == "zh" else "station_en"] or unit["station"]
    fix_ms = int(unit["fix_ts"].timestamp() * 1000) if unit["fix_ts"] else None
    age = html.Span("—", className="qz-age", **({"data-ts": fix_ms} if fix_ms else {}))
    speed = "—" if unit["speed"] is None else f"{unit['speed'] * 3.6:.0f} {t('live.kmh', lang)}"
    cam = t(f"cam.{unit['cam_state']}", lang) if unit["cam_state"] else "—"
    # the player asks the server, which checks the scope, audits who watched and hands out the URL
    playable = stream_policy is not None and stream_policy.url_for(unit["id"], unit["station"], unit["stream_url"])
    stream = (build_view_button(unit_id=unit["id"], lang=lang) if playable
              else html.Span(t("live.no_stream", lang)))
    status = t(f"status.{unit['status']}", lang) if unit["status"] else "—"
    if unit["sos"]:
        status = [html.B("SOS ", className="qz-sos-text"), status]
    rows = [
        _row(t("common.station", lang), station),
        _row(t("live.kind", lang), t(f"kind.{unit['kind']}", lang)),
        _row(t("live.status", lang), status),
        _row(t("live.status_since", lang), fmt_time(unit["status_ts"], tz, with_date=True)),
        _row(t("live.camera", lang), cam),
        _row(t("live.last_fix", lang), fmt_time(unit["fix_ts"], tz, with_date=True)),
        _row(t("live.age", lang), age),
        _row(t("live.speed", lang), speed),
    ]
    if unit["incident"]:
        rows.append(_row(t("live.incident", lang), unit["incident"]))
    return [
        html.Div(unit["id"], className="qz-details-id"),
        html.Table(html.Tbody(rows), className="qz-details-table"),
        html.Div(stream, className="qz-details-stream"),
        html.Div(t("live.trail_points", lang).format(n=trail_n), className="qz-hint"),
    ]


def _swatch(css: str, label: str) -> html.Div:
    return html.Div([html.Span(className=f"qz-sw {css}"), html.Span(label)], className="qz-legend-row")


def build_legend(*, lang: str) -> html.Div:
    """Colours, shapes, camera badges and freshness, as drawn by assets/js/20_live_units.js."""
    rows = [_swatch(f"st-{s}", t(f"status.{s}", lang)) for s in ON_DUTY]
    rows += [_swatch(f"kind-{k}", t(f"kind.{k}", lang)) for k in UNIT_KINDS]
    rows += [_swatch(f"cam-{c}", f"{t('live.camera', lang)} {t(f'cam.{c}', lang)}") for c in CAM_STATES]
    rows += [
        _swatch("fresh-stale", t("live.legend.stale", lang)),
        _swatch("fresh-lost", t("live.legend.lost", lang)),
        _swatch("sos", t("live.legend.sos", lang)),
        _swatch("cluster", t("live.legend.cluster", lang)),
    ]
    rows += [_swatch(f"zone-{n}", f"{t('live.legend.zone', lang)} {t(f'live.zone_level.{n}', lang)}") for n in (1, 2, 3, 4)]
    return html.Details([html.Summary(t("live.legend", lang)), html.Div(rows, className="qz-legend-grid")],
                        className="qz-legend", open=True)


def build_filters(*, stations: list[dict[str, Any]], lang: str) -> html.Div:
    """Station filter, off-duty/sound options and the call-sign search."""
    name = "name_zh" if lang == "zh" else "name_en"
    options = [{"label": t("common.all_stations", lang), "value": ""}]
    options += [{"label": s[name], "value": s["id"]} for s in stations]
    return html.Div(
        [
            dcc.Dropdown(id=ids.LIVE_STATION, options=options, value="", clearable=False, searchable=True,
                         className="qz-station"),
            dcc.Checklist(
                id=ids.LIVE_OPTIONS,
                options=[{"label": t("live.show_off_duty", lang), "value": "off_duty"},
                         {"label": t("live.sound", lang), "value": "sound"}],
                value=[], className="qz-options", inputClassName="qz-check",
            ),
            html.Div(
                [dcc.Input(id=ids.LIVE_SEARCH, type="search", placeholder=t("live.search", lang), debounce=True,
                           className="qz-search"),
                 html.Div(id=ids.LIVE_SEARCH_MSG, className="qz-search-msg")],
                className="qz-search-row",
            ),
        ],
        className="qz-filters",
    )


def build_banner() -> html.Div:
    """The 'connection lost since …' banner, shown and filled by assets/js/30_live_stream.js."""
    return html.Div(id=ids.LIVE_BANNER, className="qz-banner", hidden=True)


def build_live_stores(*, config: dict[str, Any], selectable: bool = True) -> list:
    """The page's stores: the JS configuration and (where units can be clicked) the selected unit."""
    stores = [dcc.Store(id=ids.LIVE_CONFIG, data=config), html.Div(id=ids.LIVE_STARTED, hidden=True)]
    if selectable:
        stores.append(dcc.Store(id=ids.LIVE_SELECTED, data=None))
    return stores


def trail_geojson(points: list[list[float]]) -> dict[str, Any]:
    """The selected unit's trail ([lat, lon] points, oldest first) as a GeoJSON line for its layer."""
    if len(points) < 2:  # one point is no line
        return EMPTY_COLLECTION
    line = {"type": "LineString", "coordinates": [[lon, lat] for lat, lon in points]}
    return {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": line, "properties": {}}]}
