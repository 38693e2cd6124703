"""What `qingzhi repeats`, `qingzhi search` and `qingzhi grids load` print and do, through the core
with the person at the terminal as actor (an administrator, as for every CLI command)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from qingzhi.config import Settings
from qingzhi.core import grids, repeats, search
from qingzhi.core.dispatch_config import load_config
from qingzhi.core.times import parse_moment
from qingzhi.errors import QingzhiError
from qingzhi.user_admin import cli_actor, run

def _json_or_nothing(rows: list[dict[str, Any]], *, as_json: bool, nothing: str) -> bool:
    """Print the rows as JSON (or say there are none); True when that is all there is to print."""
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    elif not rows:
        click.echo(nothing)
    return as_json or not rows


def show_repeats(settings: Settings, *, as_json: bool) -> None:
    """Print the current flags: kind, reason, incidents, task."""
    async def go(conn: Any) -> list[dict[str, Any]]:
        return await repeats.repeat_flags(conn, await load_config(conn), now=dt.datetime.now(dt.UTC))

    flags = run(settings.database_url, go)
    if _json_or_nothing(flags, as_json=as_json, nothing="no repeat-call flags"):
        return
    for f in flags:
        task = f"  task #{f['task']['id']} {f['task']['state']}" if f["task"] else ""
        click.echo(f"{f['kind']:6} {f['label']}  [{f['station'] or '-'}]  {f['reason']['en']}{task}")
        click.echo(f"       incidents: {', '.join(f['incidents'][:20])}{' …' if len(f['incidents']) > 20 else ''}")


def show_search(settings: Settings, query: str, *, start: str | None, end: str | None, limit: int, as_json: bool,
                caller_key: str) -> None:
    """Print the matching incidents, each with its full trace."""
    since, until = (parse_moment(start, "--from", zone=settings.timezone),
                    parse_moment(end, "--to", zone=settings.timezone))
    actor = cli_actor()

    async def go(conn: Any) -> list[dict[str, Any]]:
        found = await search.search(actor, conn, query, caller_key=caller_key, since=since, until=until, limit=limit)
        return [{**r, "trace": await search.trace(actor, conn, r["id"])} for r in found]

    results = run(settings.database_url, go)
    if _json_or_nothing(results, as_json=as_json, nothing="no incidents found"):
        return
    tz = ZoneInfo(settings.timezone)
    for r in results:
        click.echo(f"{r['id']}  {r['ts'].astimezone(tz):%Y-%m-%d %H:%M}  {r['type']}  {r['state']}  "
                   f"[{r['station'] or '-'}]  {r['address'] or ''}  (matched: {', '.join(r['matched'])})")
        for e in r["trace"]["events"]:
            who = " ".join(str(e[k]) for k in ("unit", "by", "text") if e.get(k))
            click.echo(f"    {e['ts'].astimezone(tz):%m-%d %H:%M:%S}  {e['kind']:10} {e['what']}  {who}")
        linked = r["trace"]["linked"]
        if linked["same_caller"] or linked["followups"]:
            click.echo(f"    linked: same caller {', '.join(x['id'] for x in linked['same_caller']) or '-'}; "
                       f"tasks {', '.join('#' + str(t['id']) for t in linked['followups']) or '-'}")


def load_grids(settings: Settings, path: Path, station: str) -> None:
    """Load the file's grids for the station and say how many."""
    try:
        geojson = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # (nesting too deep)
        raise QingzhiError(f"{path} is not GeoJSON: {exc}") from None
    n = run(settings.database_url, lambda conn: grids.load_grids(cli_actor(), conn, station, geojson))
    click.echo(f"loaded {n} grid(s) for station {station}")
