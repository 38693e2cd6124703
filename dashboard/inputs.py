"""Shapes of what the browser sends to callbacks, for their type hints (checked by dashboard.callbacks.checked
before a callback runs): a forged request gets a 400 naming the argument, not a traceback."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from qingzhi.core.briefing.period import parse_day
from qingzhi.errors import QingzhiError


def _iso_day(text: str) -> str:
    """A date picker's value: an ISO date, perhaps with a time after it (Dash sends either)."""
    try:
        parse_day(text[:10], "date")
    except QingzhiError as exc:
        raise ValueError(str(exc)) from None
    return text


Day = Annotated[str, AfterValidator(_iso_day)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class MapPoint(TypedDict):
    """A point clicked on a map, in WGS-84 degrees."""

    lat: Latitude
    lon: Longitude


Corner = Annotated[list[Annotated[float, Field(allow_inf_nan=False)]], Field(min_length=2, max_length=2)]
Bounds = Annotated[list[Corner], Field(min_length=2, max_length=2)]  # a map's [[south, west], [north, east]]


class SentCommand(TypedDict, total=False):
    """A command sent from a page, as the page keeps it to follow its acknowledgement."""

    unit: str
    zone: str
    command: str
    error: str
