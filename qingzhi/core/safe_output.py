"""What leaves the system for another program: links and spreadsheet cells that cannot be turned
against the person who opens them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

LINK_SCHEMES = ("http", "https")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_link(url: str | None, hosts: Iterable[str] = ()) -> str | None:
    """The URL if it is http(s) and, when `hosts` are configured, on one of them; None otherwise
    (a device may send `javascript:…`, or a link to anywhere)."""
    if not url or len(url) > 2000:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    allowed = {h.strip().lower() for h in hosts if h.strip()}
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.hostname:
        return None
    if allowed and parts.hostname.lower() not in allowed:
        return None
    return url.strip()


def csv_cell(value: Any) -> Any:
    """A spreadsheet cell that is never a formula: text starting with = + - @ gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
