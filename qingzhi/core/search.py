"""One-click search (一键查询) over all history and the full trace of an incident (全溯源).

One box: the text is tried as every key at once, each by its own index, and the matches are joined:
an incident id, a phone number (hashed with the caller key and looked up: the number itself is never
stored, searched for or audited), a unit's call sign, a station (id or name), a type or category
code, and address text (a trigram index, so any part of an address is found). A time range narrows
all of them. Reads serve a person: they need `search.view`, are narrowed to the actor's stations and
are audited (which keys matched, never a number typed).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import asyncpg

from qingzhi.core import audit
from qingzhi.core.access import require, scope
from qingzhi.core.actor import Actor
from qingzhi.core.callers import hash_caller, normalise_number
from qingzhi.core.trace import trace_of
from qingzhi.errors import QingzhiError

MAX_QUERY = 100
LIMIT = 100
PHONE = re.compile(r"^\+?[\d\s().-]{5,20}$")
CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
RESULT_COLUMNS = "id, ts, type, priority, state, station, address, lat, lon, caller_hash IS NOT NULL AS has_caller"


def _keys(text: str, caller_key: str) -> dict[str, Any]:
    """What the typed text may be, key by key (each is tried; the matches are joined)."""
    keys: dict[str, Any] = {"id": text, "unit": text}
    if PHONE.match(text) and len(normalise_number(text).lstrip("+")) >= 5:
        keys["caller"] = hash_caller(caller_key, text)
    if CODE.match(text.lower()):
        keys["type"] = text.lower()
    if len(text) >= 3:  # a trigram index finds three characters or more; two are tried only if nothing else matched
        keys["address"] = like_pattern(text)
    return keys


def like_pattern(text: str) -> str:
    """`%text%` for LIKE, with the text's own wildcards taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"


async def _matches(conn: asyncpg.Connection, keys: dict[str, Any], since: dt.datetime | None,
                   until: dt.datetime | None, stations: list[str] | None, limit: int) -> dict[str, list[str]]:
    """{incident id: [keys it matched]}, newest first, each key's query on its own index."""
    window = "($2::timestamptz IS NULL OR i.ts >= $2) AND ($3::timestamptz IS NULL OR i.ts < $3) " \
             "AND ($4::text[] IS NULL OR i.station = ANY($4))"
    queries = {
        "id": f"SELECT i.id, i.ts FROM incidents i WHERE i.id = $1 AND {window} LIMIT $5",
        "unit": f"""SELECT DISTINCT i.id, i.ts FROM assignments a JOIN incidents i ON i.id = a.incident
                    WHERE a.unit = $1 AND {window} ORDER BY i.ts DESC LIMIT $5""",
        "station": f"""SELECT i.id, i.ts FROM incidents i WHERE i.station = $1 AND {window} ORDER BY i.ts DESC LIMIT $5""",
        "caller": f"""SELECT i.id, i.ts FROM incidents i WHERE i.caller_hash = $1 AND {window}
                      ORDER BY i.ts DESC LIMIT $5""",
        "type": f"""(SELECT i.id, i.ts FROM incidents i WHERE i.type = $1 AND {window} ORDER BY i.ts DESC LIMIT $5)
                    UNION ALL
                    (SELECT i.id, i.ts FROM incidents i WHERE i.category = $1 AND i.type <> $1 AND {window}
                     ORDER BY i.ts DESC LIMIT $5)""",
        # materialised: left to itself the planner walks the time index backwards testing every address
        # for a rare text (the whole table when nothing matches) instead of asking the trigram index
        "address": f"""WITH m AS MATERIALIZED (SELECT i.id, i.ts FROM incidents i WHERE i.address LIKE $1 AND {window})
                       SELECT id, ts FROM m ORDER BY ts DESC LIMIT $5""",
    }
    found: dict[str, tuple[dt.datetime, list[str]]] = {}
    for key, value in keys.items():
        for r in await conn.fetch(queries[key], value, since, until, stations, limit):
            found.setdefault(r["id"], (r["ts"], []))[1].append(key)
    ranked = sorted(found.items(), key=lambda kv: kv[1][0], reverse=True)[:limit]
    return {i: k for i, (_, k) in ranked}


async def search(
    actor: Actor, conn: asyncpg.Connection, text: str, *, caller_key: str, since: dt.datetime | None = None,
    until: dt.datetime | None = None, limit: int = LIMIT,
) -> list[dict[str, Any]]:
    """Incidents matching the text by any key within [since, until), newest first, each with the keys
    it matched (`matched`); at most `limit` (1–1000)."""
    require(actor, "search.view")
    text = (text or "").strip()
    if not text or len(text) > MAX_QUERY:
        raise QingzhiError(f"type 1 to {MAX_QUERY} characters to search for")
    if since and until and since >= until:
        raise QingzhiError("the time range ends before it starts")
    limit = min(max(int(limit), 1), 1000)
    keys = _keys(text, caller_key)
    station = await conn.fetchval(  # a station by its id or name (resolved first: a plan for a known value)
        "SELECT id FROM stations WHERE id = $1 OR name_zh = $1 OR lower(name_en) = lower($1) ORDER BY id <> $1 LIMIT 1",
        text)
    if station:
        keys["station"] = station
    stations = scope(actor)
    found = await _matches(conn, keys, since, until, stations, limit)
    if not found and len(text) == 2:
        found = await _matches(conn, {"address": like_pattern(text)}, since, until, stations, limit)
    rows = {r["id"]: dict(r) for r in await conn.fetch(
        f"SELECT {RESULT_COLUMNS} FROM incidents WHERE id = ANY($1::text[])", list(found))}
    await audit.record(conn, actor, "search", details={
        "keys": sorted({k for ks in found.values() for k in ks}), "tried": sorted(keys), "found": len(found),
        "since": since, "until": until, **({} if "caller" in keys else {"text": text})})
    return [{**rows[i], "matched": found[i]} for i in found if i in rows]


async def trace(actor: Actor, conn: asyncpg.Connection, incident: str) -> dict[str, Any]:
    """The full trace of one incident the actor may see (qingzhi.core.trace), audited."""
    require(actor, "search.view")
    station = await conn.fetchval("SELECT station FROM incidents WHERE id = $1", incident)
    found = await trace_of(conn, incident)
    if found is None:
        raise QingzhiError(f"no incident {incident!r}")
    require(actor, "search.view", station)
    await audit.record(conn, actor, "trace", incident=incident)
    return found
