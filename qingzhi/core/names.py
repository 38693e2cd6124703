"""The spelling of names: PROTOCOL.md ids (stations, call signs) and account names."""

from __future__ import annotations

import re

ID_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")        # a station or a unit (PROTOCOL.md "Identifiers")
USER_RE = re.compile(r"[A-Za-z0-9_.@\-]{1,64}")     # a web account
