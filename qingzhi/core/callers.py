"""Callers' phone numbers are stored only as a keyed hash (HMAC-SHA256 with settings.caller_key).

The same number always hashes the same under one key, so repeat callers can be found, while the
number itself cannot be recovered without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import phonenumbers

# Numbers written without a country code are read as Chinese ones: the 110 system and walk-in
# reports give "138 0013 8000" where a radio gateway may give "+86 138 0013 8000".
DEFAULT_REGION = "CN"


def normalise_number(number: str) -> str:
    """One spelling per phone number: E.164 where it parses ('+86 138-0013-8000' and
    '13800138000' → '+8613800138000'), else its digits (a leading '+' kept)."""
    number = number.strip()
    try:
        parsed = phonenumbers.parse(number, DEFAULT_REGION)
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    digits = re.sub(r"\D", "", number)
    return f"+{digits}" if number.startswith("+") else digits


def hash_subject(key: str, subject: str | None) -> str | None:
    """The keyed hash of a check's subject (an ID-card or plate number: spaces and case do not count),
    or None for a blank one. Stored instead of the number, like callers'."""
    spelled = re.sub(r"\s+", "", subject or "").upper()
    if not spelled:
        return None
    return hmac.new(key.encode(), b"subject:" + spelled.encode(), hashlib.sha256).hexdigest()


def hash_caller(key: str, number: str | None) -> str | None:
    """The keyed hash of a phone number (hex), or None for a blank one."""
    if number is None or not normalise_number(number):
        return None
    return hmac.new(key.encode(), normalise_number(number).encode(), hashlib.sha256).hexdigest()
