"""Dispatch settings kept in the database (table dispatch_settings), validated on load.

They live in the database, not in QZ_* variables, because a duty commander tunes them
(overdue thresholds, ack timeout, unit speeds, repeat-incident thresholds) while every
dashboard process is running, and all of them must agree.
"""

from __future__ import annotations

import json

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qingzhi.core import audit
from qingzhi.core.access import require
from qingzhi.core.actor import Actor
from qingzhi.core.vocab import UNKNOWN_KIND
from qingzhi.errors import QingzhiError


class Overdue(BaseModel):
    """Seconds from receipt after which an incident is overdue if not yet assigned / on scene."""

    model_config = ConfigDict(frozen=True)
    assign_s: int = Field(gt=0)
    on_scene_s: int = Field(gt=0)


class RepeatCaller(BaseModel):
    """One caller `calls` times or more within `days` days."""

    model_config = ConfigDict(frozen=True)
    calls: int = Field(3, ge=2)
    days: int = Field(30, ge=1)


class RepeatPlace(BaseModel):
    """`incidents` or more in one H3 cell of resolution `h3_res` within `days` days."""

    model_config = ConfigDict(frozen=True)
    incidents: int = Field(5, ge=2)
    days: int = Field(30, ge=1)
    h3_res: int = Field(9, ge=5, le=12)


class Surge(BaseModel):
    """A type's count in an area over the last 7 days against its weekly mean before that."""

    model_config = ConfigDict(frozen=True)
    min_count: int = Field(5, ge=1)
    ratio: float = Field(2.0, gt=1)
    baseline_weeks: int = Field(8, ge=1, le=52)
    alpha: float = Field(0.01, gt=0, lt=1)  # Poisson tail probability of a count this high


class DispatchConfig(BaseModel):
    """Every dispatch setting, with the defaults of migration 0400."""

    model_config = ConfigDict(frozen=True)
    overdue: dict[int, Overdue] = Field(
        default_factory=lambda: {
            1: Overdue(assign_s=60, on_scene_s=300),
            2: Overdue(assign_s=180, on_scene_s=900),
            3: Overdue(assign_s=600, on_scene_s=1800),
            4: Overdue(assign_s=1800, on_scene_s=3600),
        }
    )
    ack_timeout_s: int = Field(30, ge=1)
    speed_kmh: dict[str, float] = Field(default_factory=lambda: {"car": 40, "ebike": 20, "foot": 5, UNKNOWN_KIND: 15})
    repeat_caller: RepeatCaller = RepeatCaller()
    repeat_place: RepeatPlace = RepeatPlace()
    surge: Surge = Surge()
    roads: str | None = None  # GeoJSON road network for road-distance ETAs; None: straight line

    def speed_ms(self, kind: str) -> float:
        """Typical speed of a unit kind in m/s (unknown kinds use the 'unknown' speed)."""
        return self.speed_kmh.get(kind, self.speed_kmh.get(UNKNOWN_KIND, 15.0)) / 3.6


async def load_config(conn: asyncpg.Connection) -> DispatchConfig:
    """The settings in the database over the defaults; a bad stored value is a clear error."""
    rows = await conn.fetch("SELECT key, value FROM dispatch_settings")
    values = {r["key"]: json.loads(r["value"]) for r in rows}
    try:
        return DispatchConfig(**{k: v for k, v in values.items() if k in DispatchConfig.model_fields})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise QingzhiError(f"bad dispatch setting {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


async def save_setting(actor: Actor, conn: asyncpg.Connection, key: str, value: object) -> None:
    """Change one setting (validated against the whole config first), audited."""
    require(actor, "settings.change")
    if key not in DispatchConfig.model_fields:
        raise QingzhiError(f"unknown dispatch setting {key!r}")
    current = (await load_config(conn)).model_dump()
    current[key] = value
    try:
        DispatchConfig(**current)
    except ValidationError as exc:
        raise QingzhiError(f"bad dispatch setting {key}: {exc.errors()[0]['msg']}") from None
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO dispatch_settings (key, value, updated_at, updated_by) VALUES ($1, $2::jsonb, now(), $3)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = EXCLUDED.updated_by""",
            key, json.dumps(value), actor.label,
        )
        await audit.record(conn, actor, "settings.change", details={"key": key, "value": value})
