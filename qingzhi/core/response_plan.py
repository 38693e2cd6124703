"""The response plan (动态勤务响应方案): what each alert level asks for, from one TOML file.

The file (QZ_RESPONSE_PLAN, default `qingzhi/response_plan.toml`) is validated on load; a mistake
is a QingzhiError naming the key and the problem, so a commander's typo never half-applies.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from qingzhi.core.vocab import UNIT_KINDS, UNKNOWN_KIND
from qingzhi.errors import QingzhiError

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "response_plan.toml"
LEVEL_NAMES = ("I", "II", "III", "IV")     # 1 (一级, red) … 4 (四级, blue): the number is the index + 1
ZONE_CLASS = r"^[a-z_]{1,32}$"


class LevelPlan(BaseModel):
    """What one level asks for."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    street_share: float = Field(ge=0, le=1)
    hotspot_visit_min: int = Field(ge=1, le=240)
    hotspot_every_min: int = Field(ge=5, le=24 * 60)
    hotspot_targets: bool = True     # the redeployment plan sends units to uncovered hotspots at this level
    min_units: dict[str, int] = Field(min_length=1)

    @model_validator(mode="after")
    def _minimums(self) -> LevelPlan:
        for cls, n in self.min_units.items():
            if not (0 <= n <= 1000):
                raise ValueError(f"min_units.{cls} must be 0–1000, not {n}")
        return self


class Suggest(BaseModel):
    """When the duty loop suggests raising or lowering a level."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    hours: int = Field(3, ge=1, le=24)
    baseline_weeks: int = Field(8, ge=2, le=52)
    min_weeks: int = Field(2, ge=1, le=52)  # fewer weeks of history than this: no suggestion
    raise_excess: float = Field(0.5, gt=0, le=100)
    lower_excess: float = Field(0.0, ge=-1, le=0)
    min_count: int = Field(4, ge=1)
    alpha: float = Field(0.05, gt=0, lt=1)  # a raise needs a count this improbable by chance (Poisson tail)

    @model_validator(mode="after")
    def _weeks(self) -> Suggest:
        if self.min_weeks > self.baseline_weeks:
            raise ValueError(f"min_weeks ({self.min_weeks}) must not exceed baseline_weeks ({self.baseline_weeks})")
        return self


class ResponsePlan(BaseModel):
    """The whole plan: one LevelPlan per level I–IV and the rules shared by all levels."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    allow_cross_station: bool = False
    counted_kinds: tuple[str, ...] = Field(("car", "ebike", "foot"), min_length=1)
    patrol_minutes: int = Field(120, ge=5, le=24 * 60)
    shortage_grace_min: int = Field(10, ge=0, le=24 * 60)
    shift_starts: tuple[int, ...] = Field((8, 20), min_length=1)   # local hours a shift begins
    hotspots_per_station: int = Field(3, ge=0, le=50)   # the top cells (three-highs, H3 res 9) each station patrols
    hotspot_days: int = Field(28, ge=1, le=365)          # … ranked by incidents over this many days
    suggest: Suggest = Suggest()
    levels: dict[str, LevelPlan]

    @model_validator(mode="after")
    def _complete(self) -> ResponsePlan:
        if sorted(self.levels) != sorted(LEVEL_NAMES):
            raise ValueError(f"levels must be exactly {', '.join(LEVEL_NAMES)}, not {', '.join(sorted(self.levels))}")
        if any(not 0 <= h <= 23 for h in self.shift_starts):
            raise ValueError("shift_starts: hours must be 0–23")
        known = (*UNIT_KINDS, UNKNOWN_KIND)
        bad = [k for k in self.counted_kinds if k not in known]
        if bad:
            raise ValueError(f"counted_kinds: unknown unit kind {bad[0]!r} (known: {', '.join(known)})")
        return self

    def shift_start(self, now: dt.datetime, timezone: str) -> dt.datetime:
        """When the shift running at `now` began (the latest of `shift_starts`, local time, at or before now)."""
        local = now.astimezone(ZoneInfo(timezone))
        starts = [local.replace(hour=h, minute=0, second=0, microsecond=0) - dt.timedelta(days=d)
                  for h in self.shift_starts for d in (0, 1)]
        return max(s for s in starts if s <= local).astimezone(dt.UTC)

    def level(self, level: int) -> LevelPlan:
        """The plan of level 1–4; 0 (no level set) is normal duty, level IV."""
        return self.levels[LEVEL_NAMES[(level or 4) - 1]]

    def minimum(self, level: int, zone_class: str, floor: int = 0) -> int:
        """A zone's minimum units at this level: its class's (else the largest of any class), never below `floor`."""
        mins = self.level(level).min_units
        return max(floor, mins.get(zone_class, max(mins.values())))


def parse(text: str, source: str = "response plan") -> ResponsePlan:
    """A plan from TOML text, or a QingzhiError that names the key and what is wrong."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise QingzhiError(f"{source}: not valid TOML: {exc}") from None
    try:
        return ResponsePlan(**doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"])) or "(file)"
        raise QingzhiError(f"{source}: {where}: {err['msg'].removeprefix('Value error, ')}") from None


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> ResponsePlan:
    return parse(Path(path).read_text(encoding="utf-8"), path)


def load_plan(path: str | Path | None = None) -> ResponsePlan:
    """The plan in `path` (default: the bundled file), cached per file and modification time."""
    p = Path(path) if path else DEFAULT_FILE
    try:
        return _load(str(p), p.stat().st_mtime)
    except OSError as exc:
        raise QingzhiError(f"cannot read the response plan {p}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise QingzhiError(f"response plan {p}: not UTF-8 text") from None
