"""Free text a person types into an action (an address, a reason, a result): how long it may be and what it may
hold, checked before anything is written, so that a NUL (which PostgreSQL text cannot hold), a control character
or a bidi override (which makes a log line read otherwise than it is stored) never reaches a record."""

from __future__ import annotations

import re

from qingzhi.errors import QingzhiError

_REFUSED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")   # tab and newline are text


def free_text(value: object, what: str, top: int) -> str | None:
    """`value` stripped, None when blank (the caller says if it may be); QingzhiError when it is not text, is
    longer than `top` characters or holds a refused character."""
    if value is not None and not isinstance(value, str):
        raise QingzhiError(f"the {what} is not text")
    text = (value or "").strip()
    if len(text) > top or _REFUSED.search(text):
        raise QingzhiError(f"the {what} must be 1 to {top} characters of plain text")
    return text or None
