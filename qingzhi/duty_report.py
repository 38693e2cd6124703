"""`qingzhi level …` and `qingzhi plan …`: alert levels and the redeployment plan from the command line.

Every action goes through the core (qingzhi.core.levels, qingzhi.core.redeploy) with the acting person:
`--as NAME` acts as that web account (its role and stations); without it, the person at the terminal
acts as an administrator, as the other administrative commands do.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import click

from qingzhi.config import Settings
from qingzhi.core import levels, redeploy
from qingzhi.core.accounts import user_from_row
from qingzhi.core.actor import Actor
from qingzhi.core.dispatch_config import load_config
from qingzhi.core.response_plan import load_plan
from qingzhi.core.roads import road_times
from qingzhi.core.times import parse_moment
from qingzhi.db import connect
from qingzhi.errors import QingzhiError
from qingzhi.user_admin import cli_actor

T = TypeVar("T")


async def _actor(conn: asyncpg.Connection, name: str | None) -> Actor:
    if not name:
        return cli_actor()
    row = await conn.fetchrow("SELECT name, role, stations, disabled FROM users WHERE name = $1", name)
    if row is None or row["disabled"]:
        raise QingzhiError(f"no active account {name[:64]!r} (--as)")
    return user_from_row(row).actor("cli")


def _run(settings: Settings, as_user: str | None, fn: Callable[[Actor, asyncpg.Connection], Awaitable[T]]) -> T:
    async def go() -> T:
        conn = await connect(settings.database_url)
        try:
            return await fn(await _actor(conn, as_user), conn)
        finally:
            await conn.close()
    return asyncio.run(go())


def set_level(settings: Settings, as_user: str | None, *, scope: str, target: str | None, level: str, reason: str,
              until: str | None) -> None:
    """Set a level and print what changed."""
    done = _run(settings, as_user, lambda a, c: levels.set_level(
        a, c, scope=scope, target=target, level=level, reason=reason, until=parse_moment(until, "--until", zone=None)))
    where = scope if scope == "district" else f"{scope} {done['target']}"
    click.echo(f"{where}: level {done['level']}" + (f" until {done['until'].isoformat()}" if done["until"] else "")
               + f"; {len(done['zones_changed'])} zone(s) changed")


def clear_level(settings: Settings, as_user: str | None, *, scope: str, target: str | None, reason: str) -> None:
    """Remove a level."""
    done = _run(settings, as_user, lambda a, c: levels.clear_level(a, c, scope=scope, target=target, reason=reason))
    click.echo("cleared" if done else "no level was set there")


def list_levels(settings: Settings, as_user: str | None, *, as_json: bool) -> None:
    """Print the levels in force."""
    rows = _run(settings, as_user, levels.list_levels)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, default=str, indent=1))
        return
    if not rows:
        click.echo("no levels set: normal duty (IV) everywhere")
    for r in rows:
        until = r["until"].isoformat() if r["until"] else "-"
        click.echo(f"{r['scope']:<8} {r['target'] or '-':<16} {r['level']:<4} until {until:<32} "
                   f"by {r['set_by']}: {r['reason']}")


def plan(settings: Settings, as_user: str | None, *, as_json: bool, apply: bool, recall: bool) -> None:
    """Print the plan; with `apply`, send its moves as patrol commands; with `recall`, recall its recalls."""
    async def go(actor: Actor, conn: asyncpg.Connection) -> dict[str, Any]:
        cfg = await load_config(conn)
        response = load_plan(settings.response_plan)
        roads = road_times(cfg.roads, settings.center_latlon, settings.data_dir)
        today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
        found = await redeploy.build_plan(actor, conn, response=response, cfg=cfg, roads=roads, today=today)
        out = found.as_dict()
        if apply or recall:
            from dashboard.commands import Publisher   # the dashboard's command publisher: one MQTT client

            if not settings.mqtt_url:
                raise QingzhiError("no MQTT broker configured (QZ_MQTT_URL): commands cannot be sent")
            pub = Publisher(settings)
            try:
                await asyncio.to_thread(pub.ensure_connected)
                if apply:
                    out["applied"] = await redeploy.apply_moves(
                        actor, conn, [(m.unit, m.zone, m.hotspot) for m in found.moves], response=response,
                        topic_root=settings.topic_root, publish=pub.apublish, today=today)
                if recall:
                    out["recalled"] = await redeploy.recall_units(
                        actor, conn, [r["unit"] for r in found.recalls], topic_root=settings.topic_root,
                        publish=pub.apublish)
            finally:
                pub.close()
        return out

    out = _run(settings, as_user, go)
    click.echo(json.dumps(out, ensure_ascii=False, default=str, indent=1) if as_json else as_text(out))


def as_text(out: dict[str, Any]) -> str:
    """The plan as a table."""
    lines = [f"{'unit':<14} {'from':<12} {'to zone':<12} {'level':<6} {'ETA':>7}  hotspot"]
    lines += [f"{m['unit']:<14} {m['from_zone'] or '-':<12} {m['zone']:<12} {m['level']:<6} {m['eta_s'] / 60:6.1f}m"
              + (f"  {m['hotspot']}" if m.get("hotspot") else "") for m in out["moves"]]
    lines += [f"short: zone {s['zone']} ({s['station']}) needs {s['need']}, has {s['have']}, "
              f"{s['short']} missing after the plan" for s in out["shortfalls"]]
    lines += [f"hotspot uncovered: {h['cell']} in zone {h['zone']} ({h['station']}, level {h['level']}), last visit "
              + ("none in 2 h" if h["minutes_since_visit"] is None else f"{h['minutes_since_visit']} min ago")
              for h in out.get("hotspot_shortfalls", [])]
    lines += [f"recall: {r['unit']} from {r['zone']} (sent for level {r['sent_for']}, now {r['level_now']})"
              for r in out["recalls"]]
    st = out["street"]
    if st.get("share") is not None:
        lines.append(f"on the street: {st['on_street']} of {st['on_duty']} on duty ({st['share']:.0%}), the plan asks "
                     f"{st['required']:.0%}" + ("" if st["met"] else " — SHORT"))
    t = out["totals"]
    lines.append(f"{t['moves']} move(s) ({t.get('hotspot_moves', 0)} to hotspots), total travel {t['eta_s'] / 60:.1f} "
                 f"min, {t['short']} place(s) unmet, {t.get('hotspots_uncovered', 0)} hotspot(s) uncovered, "
                 f"solved in {t['solve_ms']:.0f} ms")
    for key in ("applied", "recalled"):
        for r in out.get(key, []):
            lines.append(f"{key}: {r['unit']} " + (f"command {r['command']}" + ("" if r["published"] else
                                                   " (broker did not confirm yet)") if "command" in r
                                                  else f"REFUSED: {r['error']}"))
    return "\n".join(lines)
