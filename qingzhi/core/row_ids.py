"""The id of a row a person picked on a page (an alert, a task): the page sends it back, so it is checked
as any input is before a query uses it."""

from __future__ import annotations

from qingzhi.errors import QingzhiError

BIGINT_MAX = (1 << 63) - 1   # the ids are bigserial


def row_id(value: object, what: str) -> int:
    """`value` (a whole number, or its digits as text) as the id of a `what`; QingzhiError if it cannot be one."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= BIGINT_MAX:
        raise QingzhiError(f"not a {what} id: {str(value)[:40]!r}")
    return value
