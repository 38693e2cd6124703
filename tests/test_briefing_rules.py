"""The briefing's pure rules: periods and what they are compared with, the headline mapping file
(and its clear errors), comparisons without a base, the camera spans and the station ranking."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from qingzhi.core.briefing.cameras import overlap_s, spans
from qingzhi.core.briefing.compare import compare, decline_rate
from qingzhi.core.briefing.config import DEFAULT_PATH, ConfigError, load_config, parse_config
from qingzhi.core.briefing.period import Period, parse_day, period_of
from qingzhi.core.briefing.ranking import rank
from qingzhi.errors import QingzhiError

TZ = "Asia/Shanghai"


def test_periods_and_their_comparisons() -> None:
    week = period_of("week", dt.date(2026, 11, 21), TZ)  # a Saturday
    assert (week.first, week.last, week.days) == (dt.date(2026, 11, 16), dt.date(2026, 11, 22), 7)
    assert week.previous().first == dt.date(2026, 11, 9) and week.last_year().first == dt.date(2025, 11, 16)
    march = period_of("month", dt.date(2026, 3, 15), TZ)
    assert (march.previous().first, march.previous().last) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    leap = Period("day", dt.date(2028, 2, 29), dt.date(2028, 2, 29), TZ)
    assert leap.last_year().first == dt.date(2027, 2, 28)
    day = period_of("day", dt.date(2026, 11, 21), TZ)
    assert day.since.isoformat() == "2026-11-21T00:00:00+08:00" and day.until - day.since == dt.timedelta(days=1)
    with pytest.raises(QingzhiError, match="before it starts"):
        period_of("range", dt.date(2026, 11, 21), TZ, last=dt.date(2026, 11, 1))
    with pytest.raises(QingzhiError, match="longer than"):
        period_of("range", dt.date(2000, 1, 1), TZ, last=dt.date(2026, 1, 1))
    with pytest.raises(QingzhiError, match="period kind"):
        period_of("fortnight", dt.date(2026, 11, 21), TZ)
    with pytest.raises(QingzhiError, match="--day: '21/11' is not a date"):
        parse_day("21/11", "--day")


def test_compare_without_a_base_is_no_data() -> None:
    assert compare(3, 0) == {"value": 3, "base": 0, "change": 3, "pct": None, "direction": "no_data"}
    assert compare(None, 4)["direction"] == "no_data" and compare(0, 0)["pct"] is None
    assert compare(5, 10) == {"value": 5, "base": 10, "change": -5, "pct": -50.0, "direction": "down"}
    assert compare(2, 2)["direction"] == "flat"
    assert decline_rate(8, 10) == pytest.approx(20.0) and decline_rate(8, 0) is None and decline_rate(3, None) is None


def test_the_shipped_mapping_and_a_type_in_several_headlines() -> None:
    cfg = load_config()
    assert cfg.headlines_of("theft.ebike") == ["calls", "criminal", "property", "vehicle_theft", "preventable"]
    assert cfg.headlines_of("EMS: BACK PAINS") == ["calls"]
    assert cfg.headlines_of("homicide.knife") == ["calls", "criminal", "violent", "homicide"]


def _config(**changes: object) -> dict:
    base = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    return {**base, **changes}


@pytest.mark.parametrize(("data", "message"), [
    ([], "must be a JSON object"),
    (_config(extra=1), "unknown section"),
    (_config(headlines={"calls": ["*"]}), "headline\\(s\\) criminal, violent.* not mapped"),
    (_config(headlines={**_config()["headlines"], "robbery": ["x"]}), "unknown headline.*robbery"),
    (_config(headlines={**_config()["headlines"], "fraud": []}), "headlines.fraud must be a non-empty list"),
    (_config(headlines={**_config()["headlines"], "fraud": ["FRAUD SCAM\x00"]}), r"headlines.fraud\[0\]: bad incident"),
    (_config(headlines={**_config()["headlines"], "fraud": ["Fraud Desk.*"]}), r"headlines.fraud\[0\]: bad incident"),
    (_config(headlines={**_config()["headlines"], "fraud": [7]}), "must be text"),
    (_config(weights={"speed": 1}), "unknown ranking figure.*speed"),
    (_config(weights={"camera": -1}), "weights.camera: must be a number from 0"),
    (_config(weights={"camera": 0}), "at least one ranking weight"),
    (_config(population={"S1": 1e12}), "population.S1: must be a whole number"),
    (_config(population={"S1": 0}), "above 0"),
    (_config(population={"S1": True}), "population.S1"),
])
def test_a_bad_mapping_file_is_a_clear_error(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(data, "x.json")


def test_a_missing_or_broken_file_names_itself(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read briefing config"):
        load_config(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{ headlines: }", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.json: not JSON .* line 1"):
        load_config(bad)


def test_camera_spans_clip_to_the_period_and_overlap() -> None:
    t = lambda h, m=0: dt.datetime(2026, 11, 21, h, m, tzinfo=dt.UTC)  # noqa: E731
    since, until = t(0), t(23, 59)
    scene = spans([(t(0) - dt.timedelta(hours=1), True), (t(0, 30), False), (t(10), True), (t(11), False)], since, until)
    assert scene == [(t(0), t(0, 30)), (t(10), t(11))]
    rec = spans([(t(0) - dt.timedelta(hours=2), True), (t(0, 10), False), (t(10, 30), True)], since, until)
    assert overlap_s(scene, rec) == 40 * 60 and overlap_s([], rec) == 0


def test_ranking_weighs_scaled_figures_and_skips_missing_ones() -> None:
    rows = rank({"A": {"decline": 10.0, "camera": 0.5}, "B": {"decline": 0.0, "camera": 1.0},
                 "C": {"decline": None, "camera": None}}, {"decline": 2, "camera": 1})
    assert [(r["station"], r["rank"]) for r in rows] == [("A", 1), ("B", 2), ("C", None)]
    assert rows[0]["score"] == pytest.approx(200 / 3) and rows[1]["score"] == pytest.approx(100 / 3)
    tied = rank({"A": {"on_scene_p50": 60.0}, "B": {"on_scene_p50": 60.0}}, {"on_scene_p50": 1})
    assert [r["rank"] for r in tied] == [1, 1] and tied[0]["score"] == 100
    lower = rank({"A": {"on_scene_p50": 60.0}, "B": {"on_scene_p50": 120.0}}, {"on_scene_p50": 1})
    assert lower[0]["station"] == "A"  # a shorter time ranks higher
