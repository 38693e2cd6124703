"""Links and spreadsheet cells that cannot be turned against whoever opens them (qingzhi.core.safe_output)."""

from __future__ import annotations

import pytest

from qingzhi.core.safe_output import csv_cell, safe_link


@pytest.mark.parametrize("url, hosts, expected", [
    ("https://video.example/live/a.m3u8", (), "https://video.example/live/a.m3u8"),
    ("http://10.1.2.3:8888/cam/1/", ("10.1.2.3",), "http://10.1.2.3:8888/cam/1/"),
    ("https://elsewhere.example/x", ("10.1.2.3",), None),
    ("javascript:alert(1)", (), None),
    ("JaVaScRiPt:alert(1)", (), None),
    ("data:text/html,<script>alert(1)</script>", (), None),
    ("rtsp://video.example/live/a", (), None),          # a browser cannot open it: no link
    ("//video.example/x", (), None),
    ("https://", (), None),
    ("https://x.example/" + "a" * 3000, (), None),
    (None, (), None),
])
def test_only_http_links_to_configured_hosts(url: str | None, hosts: tuple, expected: str | None) -> None:
    assert safe_link(url, hosts) == expected


def test_csv_cells_are_never_formulas() -> None:
    assert [csv_cell(v) for v in ("=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\t=1", "ok", 5, None)] == [
        "'=HYPERLINK(\"http://x\")", "'+1", "'-2+3", "'@SUM(A1)", "'\t=1", "ok", 5, None]
