"""Component trees of the live map's factories (no browser, no database); the map itself: test_maps.py."""

from __future__ import annotations

from datetime import datetime, timezone

from dash import html

from dashboard import ids
from dashboard.formats import fmt_time
from dashboard.i18n import STRINGS
from dashboard.live.components import build_alert_item, build_count_tiles, build_unit_details, trail_geojson
from tree_helpers import walk


def test_sos_alert_flashes_and_acked_alert_shows_who():
    ts = datetime(2026, 11, 22, 1, 2, 3, tzinfo=timezone.utc)
    sos = build_alert_item(alert={"id": 7, "ts": ts, "kind": "sos", "severity": 1, "subject": "A1", "unit": "A1",
                                  "station": "ST01", "acked_at": None, "acked_by": None}, lang="zh",
                           tz="Asia/Shanghai", ackable=True)
    assert "qz-flash" in sos.className and sos.to_plotly_json()["props"]["data-unit"] == "A1"
    button = next(c for c in walk(sos) if isinstance(c, html.Button))
    assert button.id == ids.live_ack(7) and button.children == "确认"
    acked = build_alert_item(alert={"id": 8, "ts": ts, "kind": "cam_recording", "severity": 3, "subject": "A2",
                                    "unit": "A2", "station": "ST01", "acked_at": ts, "acked_by": "张三"},
                             lang="en", tz="Asia/Shanghai", ackable=True)
    assert "acked" in acked.className and not any(isinstance(c, html.Button) for c in walk(acked))
    assert any(getattr(c, "children", None) == "Acknowledged by 张三 at 09:02:03" for c in walk(acked))


def test_times_are_shown_in_the_configured_zone():
    ts = datetime(2026, 11, 22, 23, 30, 0, tzinfo=timezone.utc)
    assert fmt_time(ts, "Asia/Shanghai") == "07:30:00"
    assert fmt_time(ts, "Europe/London", with_date=True) == "11-22 23:30:00"
    assert fmt_time(None, "Asia/Shanghai") == "—"


def test_counts_and_details_have_every_label_in_both_languages():
    for lang in ("zh", "en"):
        text = str(build_count_tiles(lang=lang).to_plotly_json())
        assert "⟦" not in text
        details = build_unit_details(unit=None, unit_id=None, trail_n=0, lang=lang, tz="Asia/Shanghai")
        assert "⟦" not in str(details[0].to_plotly_json())
    live_keys = [k for k in STRINGS if k.startswith("live.")]
    assert all(STRINGS[k][0] and STRINGS[k][1] for k in live_keys)


def test_trail_is_a_line_in_lon_lat_order():
    line = trail_geojson([[30.1, 120.1], [30.2, 120.2], [30.3, 120.25]])
    assert line["features"][0]["geometry"] == {"type": "LineString",
                                               "coordinates": [[120.1, 30.1], [120.2, 30.2], [120.25, 30.3]]}
    assert trail_geojson([[30.1, 120.1]])["features"] == []  # one fix is no line
