"""Text from devices made safe for PostgreSQL: no NUL, no lone surrogates, bounded unknown fields.

PostgreSQL's text and jsonb cannot hold U+0000, and a lone UTF-16 surrogate (JSON lets a
sender write "\\ud800") cannot be encoded as UTF-8 at all: either would make the database or
the driver refuse the whole batch. Free text keeps everything else; NUL is dropped and a
lone surrogate becomes U+FFFD, the replacement character.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

EXTRA_MAX_BYTES = 8 * 1024    # unknown fields kept per reading ("where the table has room")
EXTRA_MAX_DEPTH = 16          # deeper nesting than any real device sends; jsonb has a stack limit
_SURROGATE = re.compile("[\ud800-\udfff]")
_encode = msgspec.json.Encoder().encode


def clean(text: str) -> str:
    """The text without NUL characters and with lone surrogates replaced."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if text.isascii():
        return text
    return _SURROGATE.sub("\ufffd", text)


def clean_opt(text: str | None) -> str | None:
    """clean() for an optional field."""
    return None if text is None else clean(text)


def _clean_value(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return clean(value)
    if depth >= EXTRA_MAX_DEPTH:
        return "…(nested too deep)"
    if isinstance(value, dict):
        return {clean(k): _clean_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_value(v, depth + 1) for v in value]
    return value


def extra_json(extra: dict | None) -> str | None:
    """Unknown fields as JSON text for a jsonb column, cleaned; over EXTRA_MAX_BYTES only their size is kept."""
    if extra is None:
        return None
    text = _encode(_clean_value(extra, 0))
    if len(text) > EXTRA_MAX_BYTES:
        return _encode({"unknown_fields_dropped": {"bytes": len(text), "names": [clean(k)[:64] for k in extra][:20]}}).decode()
    return text.decode()


# A caller's number (110 incidents) and a check's ID-card or plate number are stored only as a
# keyed hash; a rejected message must not keep them in clear either.
_SECRET = re.compile(rb'("(?:caller|subject)"\s*:\s*)("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*)')


def redact_secrets(payload: bytes) -> bytes:
    """The payload with the values of `caller` and `subject` fields replaced by "<redacted>"."""
    return _SECRET.sub(rb'\1"<redacted>"', payload)
