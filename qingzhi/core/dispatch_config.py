"""Dispatch settings kept in the database (table dispatch_settings), validated on load.

They live in the database, not in QZ_* variables, because a duty commander tunes them
(overdue thresholds, ack timeout, unit speeds, repeat-incident thresholds) while every
dashboard process is running, and all of them must agree.
"""

from __future__ import annotations

import json
from typing import Annotated

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from qingzhi.core import audit
from qingzhi.core.access import require
from qingzhi.core.actor import Actor
from qingzhi.core.vocab import UNKNOWN_KIND
from qingzhi.datafiles import data_file
from qingzhi.errors import QingzhiError

# no infinity or NaN in any setting: a ratio of inf would switch a rule off while it looks set
FROZEN = ConfigDict(frozen=True, allow_inf_nan=False)
DAY_S = 86_400   # the duty loop's SQL takes the seconds below as int4: bounded well inside it


class Overdue(BaseModel):
    """Seconds from receipt after which an incident is overdue if not yet assigned / on scene."""

    model_config = FROZEN
    assign_s: int = Field(gt=0, le=7 * DAY_S)
    on_scene_s: int = Field(gt=0, le=7 * DAY_S)


class RepeatCaller(BaseModel):
    """One number calling at least `calls` times within `days` days, `ratio` times and improbably
    (Poisson tail < `alpha`) above both its own rate over the `baseline_days` before and the
    district's usual count per calling number."""

    model_config = FROZEN
    calls: int = Field(3, ge=2)
    days: int = Field(30, ge=1, le=365)
    baseline_days: int = Field(180, ge=0, le=1095)
    ratio: float = Field(2.0, ge=1)
    alpha: float = Field(0.01, gt=0, lt=1)


class RepeatPlace(BaseModel):
    """At least `incidents` in one H3 cell (resolution `h3_res`; 10 is ~150 m across) within `days`
    days, `ratio` times and improbably above both the cell's own rate over the `baseline_days` before
    and the district's usual count per occupied cell."""

    model_config = FROZEN
    incidents: int = Field(4, ge=2)
    days: int = Field(14, ge=1, le=365)
    h3_res: int = Field(10, ge=5, le=12)
    baseline_days: int = Field(84, ge=0, le=1095)
    ratio: float = Field(3.0, ge=1)
    alpha: float = Field(0.01, gt=0, lt=1)


class Surge(BaseModel):
    """A type's count in an area over the last 7 days against its weekly mean in the weeks before
    (as many of `baseline_weeks` as there is history for, at least `min_weeks`)."""

    model_config = FROZEN
    min_count: int = Field(5, ge=1)
    ratio: float = Field(2.0, gt=1)
    baseline_weeks: int = Field(8, ge=1, le=52)
    min_weeks: int = Field(2, ge=1, le=52)
    alpha: float = Field(0.01, gt=0, lt=1)  # Poisson tail probability of a count this high


class Followup(BaseModel):
    """The follow-up loop: hours allowed for each step (from when the one before ended), and the
    effect check `effect_days` after the rating: the task worked if the calls since it began are at
    most `effect_ratio` of those in as long a period before; otherwise it is reopened, and after
    `max_reopen` reopenings escalated."""

    model_config = FROZEN
    step_hours: dict[str, float] = Field(default_factory=lambda: {
        "assigned": 24, "verified": 72, "handled": 168, "reported": 48, "rated": 72})
    effect_days: float = Field(30, gt=0, le=365)
    effect_ratio: float = Field(0.5, ge=0, le=1)
    max_reopen: int = Field(1, ge=0, le=10)

    @field_validator("step_hours")
    @classmethod
    def _known_steps(cls, value: dict[str, float]) -> dict[str, float]:
        steps = ("assigned", "verified", "handled", "reported", "rated")
        bad = sorted(set(value) - set(steps))
        if bad or any(not 0 < h <= 24 * 365 for h in value.values()):
            raise ValueError(f"step_hours takes {', '.join(steps)} with hours from 0 to a year; not {bad or value}")
        return value


class Agency(BaseModel):
    """An agency a non-police call may be diverted to (非警务事项分流)."""

    model_config = FROZEN
    id: str = Field(pattern=r"^[a-z0-9_.-]{1,40}$")
    zh: str = Field(min_length=1, max_length=40)
    en: str = Field(min_length=1, max_length=60)


AGENCIES = (("urban_management", "城管", "Urban management"), ("utilities", "水电气公司", "Utilities"),
            ("housing", "住建/物业", "Housing and property management"), ("market", "市场监管", "Market regulation"),
            ("labour", "人社/劳动监察", "Labour inspection"), ("environment", "生态环境", "Environment"),
            ("hotline", "12345 政务热线", "12345 government hotline"))


class DispatchConfig(BaseModel):
    """Every dispatch setting, with the defaults of migration 0400."""

    model_config = FROZEN
    overdue: dict[int, Overdue] = Field(
        default_factory=lambda: {
            1: Overdue(assign_s=60, on_scene_s=300),
            2: Overdue(assign_s=180, on_scene_s=900),
            3: Overdue(assign_s=600, on_scene_s=1800),
            4: Overdue(assign_s=1800, on_scene_s=3600),
        }
    )
    ack_timeout_s: int = Field(30, ge=1, le=DAY_S)
    # km/h: 0 or less would rank a unit first (a negative ETA) or never
    speed_kmh: dict[str, Annotated[float, Field(gt=0, le=300)]] = Field(default_factory=lambda: {"car": 40, "ebike": 20, "foot": 5, UNKNOWN_KIND: 15})
    repeat_caller: RepeatCaller = RepeatCaller()
    repeat_place: RepeatPlace = RepeatPlace()
    surge: Surge = Surge()
    followup: Followup = Followup()
    agencies: list[Agency] = Field(default_factory=lambda: [Agency(id=i, zh=z, en=e) for i, z, e in AGENCIES],
                                   min_length=1)
    roads: str | None = None  # GeoJSON road network in QZ_DATA_DIR for road-distance ETAs; None: straight line

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


async def save_setting(actor: Actor, conn: asyncpg.Connection, key: str, value: object, *,
                       data_dir: str | None = None) -> None:
    """Change one setting (validated against the whole config first), audited. A file a setting names
    (`roads`) must be in `data_dir` (QZ_DATA_DIR)."""
    require(actor, "settings.change")
    if key not in DispatchConfig.model_fields:
        raise QingzhiError(f"unknown dispatch setting {key!r}")
    current = (await load_config(conn)).model_dump()
    current[key] = value
    try:
        DispatchConfig(**current)
        if key == "roads" and value is not None:
            data_file(data_dir, str(value))
    except ValidationError as exc:
        raise QingzhiError(f"bad dispatch setting {key}: {exc.errors()[0]['msg']}") from None
    except QingzhiError as exc:
        raise QingzhiError(f"bad dispatch setting {key}: {exc}") from None
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO dispatch_settings (key, value, updated_at, updated_by) VALUES ($1, $2::jsonb, now(), $3)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = EXCLUDED.updated_by""",
            key, json.dumps(value), actor.label,
        )
        await audit.record(conn, actor, "settings.change", details={"key": key, "value": value})
