"""The briefing's configuration file: which incident types count toward each headline (十个下降),
the weight of each figure in the station ranking, and each station's residents (for rates per
10,000). A type may count toward several headlines. Every mistake is reported with where it is.

File shape (JSON): {"headlines": {KEY: [PATTERN, ...]}, "weights": {FIGURE: number},
"population": {STATION: residents}}. A pattern is `*` (every call), `category.*` (every type of
that category) or one type as stored (`theft.ebike`, or an outside feed's name).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qingzhi.core.incidents import IncidentError, normalise_type
from qingzhi.errors import QingzhiError

HEADLINES = ("calls", "criminal", "violent", "property", "fraud", "vehicle_theft", "preventable", "administrative",
             "mass", "homicide")
# ranking figure -> whether a higher value is better
RANKED = {"decline": True, "preventable_rate": False, "check_hit": True, "on_scene_p50": False, "closure": True,
          "satisfaction": True, "camera": True}
DEFAULT_PATH = Path(__file__).with_name("default_config.json")
MAX_WEIGHT = 1000
MAX_POPULATION = 100_000_000


class ConfigError(QingzhiError):
    """The briefing configuration file is wrong; the message says where and why."""


@dataclass(frozen=True)
class BriefingConfig:
    """Validated configuration: headline → patterns, figure → weight, station → residents."""

    headlines: dict[str, tuple[str, ...]]
    weights: dict[str, float]
    population: dict[str, int] = field(default_factory=dict)

    def headlines_of(self, type_: str) -> list[str]:
        """The headlines a stored incident type counts toward (in HEADLINES order)."""
        return [h for h in HEADLINES if any(matches(p, type_) for p in self.headlines[h])]


def matches(pattern: str, type_: str) -> bool:
    """Whether a stored type falls under a pattern (`*`, `category.*` or the exact type)."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return type_.split(".", 1)[0] == pattern[:-2]
    return type_ == pattern


def _pattern(raw: object, where: str) -> str:
    if not isinstance(raw, str):
        raise ConfigError(f"{where}: a pattern must be text, not {raw!r}")
    if raw == "*":
        return raw
    try:
        if raw.endswith(".*"):
            return normalise_type(raw[:-2], code=True) + ".*"
        return normalise_type(raw)
    except IncidentError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _number(raw: object, where: str, top: float, *, integer: bool = False) -> Any:
    ok = isinstance(raw, int) if integer else isinstance(raw, int | float)
    if isinstance(raw, bool) or not ok or not 0 <= raw <= top:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{where}: must be {kind} from 0 to {top:,}, not {raw!r}")
    return raw


def parse_config(data: object, source: str = "briefing config") -> BriefingConfig:
    """Validate the decoded JSON; ConfigError names the first thing wrong."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: must be a JSON object with headlines, weights and population")
    unknown = set(data) - {"headlines", "weights", "population"}
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {', '.join(sorted(map(str, unknown)))}")
    heads = data.get("headlines")
    if not isinstance(heads, dict):
        raise ConfigError(f"{source}: 'headlines' must map each of {', '.join(HEADLINES)} to a list of types")
    extra, missing = set(heads) - set(HEADLINES), [h for h in HEADLINES if h not in heads]
    if extra:
        raise ConfigError(f"{source}: unknown headline(s) {', '.join(sorted(extra))}; known: {', '.join(HEADLINES)}")
    if missing:
        raise ConfigError(f"{source}: headline(s) {', '.join(missing)} not mapped to any type")
    headlines = {}
    for h in HEADLINES:
        raw = heads[h]
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f"{source}: headlines.{h} must be a non-empty list of types")
        headlines[h] = tuple(_pattern(p, f"{source}: headlines.{h}[{i}]") for i, p in enumerate(raw))
    weights_raw = data.get("weights", {k: 1 for k in RANKED})
    if not isinstance(weights_raw, dict):
        raise ConfigError(f"{source}: 'weights' must map figures to numbers")
    bad = set(weights_raw) - set(RANKED)
    if bad:
        raise ConfigError(f"{source}: unknown ranking figure(s) {', '.join(sorted(bad))}; known: {', '.join(RANKED)}")
    weights = {k: float(_number(v, f"{source}: weights.{k}", MAX_WEIGHT)) for k, v in weights_raw.items()}
    if not any(weights.values()):
        raise ConfigError(f"{source}: at least one ranking weight must be above 0")
    pop_raw = data.get("population", {})
    if not isinstance(pop_raw, dict):
        raise ConfigError(f"{source}: 'population' must map station ids to residents")
    population = {str(k): _number(v, f"{source}: population.{k}", MAX_POPULATION, integer=True) for k, v in pop_raw.items()}
    if any(v == 0 for v in population.values()):
        raise ConfigError(f"{source}: a station's population must be above 0 (leave it out where unknown)")
    return BriefingConfig(headlines, weights, population)


def load_config(path: str | Path | None = None) -> BriefingConfig:
    """Read and validate the file (the shipped default where none is named)."""
    where = Path(path) if path else DEFAULT_PATH
    try:
        text = where.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read briefing config {str(where)!r}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ConfigError(f"{where}: not JSON (nested too deep)") from None
    return parse_config(data, str(where))
