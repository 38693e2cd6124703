"""Callers' phone numbers are stored only as a keyed hash (HMAC-SHA256 with settings.caller_key).

The same number always hashes the same under one key, so repeat callers can be found, while the
number itself cannot be recovered without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re


def normalise_number(number: str) -> str:
    """Digits only, with a leading '+' kept: '+86 138-0000-0000' → '+8613800000000'."""
    number = number.strip()
    digits = re.sub(r"\D", "", number)
    return f"+{digits}" if number.startswith("+") else digits


def hash_caller(key: str, number: str | None) -> str | None:
    """The keyed hash of a phone number (hex), or None for a blank one."""
    if number is None or not normalise_number(number):
        return None
    return hmac.new(key.encode(), normalise_number(number).encode(), hashlib.sha256).hexdigest()
