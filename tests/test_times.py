"""Times people type on the command line (--from, --since, --until): one rule, qingzhi.core.times.parse_moment."""

from __future__ import annotations

import datetime as dt

import pytest

from qingzhi.core.times import parse_moment
from qingzhi.errors import QingzhiError


def test_a_time_is_read_in_its_own_offset_or_in_the_zone_given() -> None:
    shanghai = parse_moment("2026-12-01T08:00", "--from", zone="Asia/Shanghai")
    assert shanghai == dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)
    assert parse_moment("2026-12-01", "--since", zone="UTC") == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert parse_moment("2026-12-01T08:00+08:00", "--until", zone=None) == shanghai
    assert parse_moment("", "--from", zone="UTC") is None and parse_moment(None, "--from", zone=None) is None


@pytest.mark.parametrize("text, zone, refused", [
    ("yesterday", "UTC", "bad --x 'yesterday': not an ISO date or time"),
    ("2026-12-01T08:00", None, "bad --x '2026-12-01T08:00': give its UTC offset"),
    ("0001-01-01T00:00+14:00", None, "--x is outside the years 1900–9998"),
    ("9999-12-31", "Etc/GMT+12", "--x is outside the years 1900–9998"),
    ("x" * 5000, "UTC", "bad --x '" + "x" * 40 + "': not an ISO"),    # a pasted page is not echoed whole
])
def test_a_bad_time_is_one_clear_line(text: str, zone: str | None, refused: str) -> None:
    with pytest.raises(QingzhiError) as exc:
        parse_moment(text, "--x", zone=zone)
    assert str(exc.value).startswith(refused) and len(str(exc.value)) < 200
