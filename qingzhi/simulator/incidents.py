"""110 calls that follow the "three highs" (三高) patterns police analysts look for.

- high-incidence places: a handful of hotspots (night market, station square, …) take ~45 % of calls;
- high-incidence hours: a weekday × hour profile with an evening peak (18–22 h local time);
- high-incidence types: a few types dominate (a Pareto-like distribution);
plus repeat callers and repeat places now and then, as in real call data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
from shapely.geometry import Point

from qingzhi.simulator.district import District, Hotspot

HOTSPOT_SHARE = 0.45
REPEAT_PLACE_P = 0.06
REPEAT_CALLER_P = 0.07

# relative call volume by local hour: quiet before dawn, evening peak
HOUR_PROFILE = np.array([
    0.70, 0.50, 0.35, 0.25, 0.20, 0.25, 0.40, 0.60, 0.80, 0.90, 0.95, 1.00,
    1.05, 1.00, 0.95, 1.00, 1.10, 1.35, 1.65, 1.85, 1.95, 1.80, 1.50, 1.10,
])
WEEKDAY_PROFILE = np.array([0.95, 0.93, 0.95, 0.97, 1.10, 1.20, 1.05])  # Monday first

# type: (share, priority, summary)
TYPES: dict[str, tuple[float, int, str]] = {
    "theft.ebike": (0.22, 3, "报警人称停放的电动自行车被盗"),
    "dispute.family": (0.14, 2, "家庭纠纷，双方争吵"),
    "traffic.accident": (0.13, 2, "两车刮擦，无人受伤，需民警处理"),
    "dispute.fight": (0.09, 2, "多人发生口角并有推搡"),
    "theft.pickpocket": (0.08, 3, "报警人称手机被扒窃"),
    "fraud.scam": (0.07, 3, "报警人称遭遇电信诈骗"),
    "noise.complaint": (0.06, 4, "邻居噪音扰民"),
    "public.drunk": (0.04, 3, "醉酒人员倒地，需要帮助"),
    "theft.burglary": (0.04, 2, "报警人称家中被撬门盗窃"),
    "help.lost_person": (0.03, 3, "老人走失，家属求助"),
    "theft.shoplifting": (0.03, 3, "商户称有人偷拿商品"),
    "dispute.commercial": (0.03, 3, "顾客与商户发生消费纠纷"),
    "traffic.violation": (0.02, 4, "车辆违停堵塞通道"),
    "fire.alarm": (0.007, 1, "有烟雾冒出，疑似火情"),
    "assault": (0.006, 1, "有人被打伤，需要救助"),
    "robbery": (0.004, 1, "报警人称被抢走财物"),
}
TYPE_NAMES = list(TYPES)
TYPE_P = np.array([v[0] for v in TYPES.values()]) / sum(v[0] for v in TYPES.values())


@dataclass(frozen=True)
class Incident:
    """One 110 call, in local metres and WGS-84."""

    id: str
    ts: datetime                 # UTC
    x: float
    y: float
    lat: float
    lon: float
    type: str
    priority: int
    address: str
    caller: str
    summary: str
    station: str | None

    def message(self) -> dict:
        """The PROTOCOL.md `{root}/incidents` payload."""
        return {
            "id": self.id, "ts": int(self.ts.timestamp() * 1000), "lat": round(self.lat, 6),
            "lon": round(self.lon, 6), "type": self.type, "priority": self.priority,
            "address": self.address, "caller": self.caller, "summary": self.summary,
        }


def rate_factor(local: datetime) -> float:
    """Relative call volume at this local time (mean over a week ≈ 1)."""
    return float(HOUR_PROFILE[local.hour] * WEEKDAY_PROFILE[local.weekday()] / (HOUR_PROFILE.mean() * WEEKDAY_PROFILE.mean()))


class IncidentModel:
    """Draws incidents for a district; deterministic for a given generator."""

    def __init__(self, district: District, rng: np.random.Generator, tz: str = "Asia/Shanghai", prefix: str = "J") -> None:
        self.d = district
        self.rng = rng
        self.tz = ZoneInfo(tz)
        self.prefix = prefix
        xy = district.roads.xy
        # ordinary calls: denser towards the centre, as population is
        w = np.exp(-np.hypot(xy[:, 0], xy[:, 1]) / 4000.0)
        self._node_p = w / w.sum()
        self._hot_p = np.array([h.weight for h in district.hotspots])
        self._hot_p = self._hot_p / self._hot_p.sum()
        self._callers = [self._phone() for _ in range(40)]
        self._recent: list[tuple[float, float, str]] = []
        self._seq = 0

    def _phone(self) -> str:
        return "1" + str(self.rng.choice([3, 5, 7, 8, 9])) + "".join(str(d) for d in self.rng.integers(0, 10, 9))

    def arrivals(self, start: datetime, end: datetime, per_hour: float) -> list[datetime]:
        """Call times in [start, end) (UTC) from an hour-by-hour Poisson process shaped by the profiles."""
        out: list[datetime] = []
        t = start
        while t < end:
            step = min(timedelta(hours=1) - timedelta(minutes=t.minute, seconds=t.second, microseconds=t.microsecond),
                       end - t)
            lam = per_hour * rate_factor(t.astimezone(self.tz)) * step.total_seconds() / 3600.0
            for off in np.sort(self.rng.uniform(0, step.total_seconds(), self.rng.poisson(lam))):
                out.append(t + timedelta(seconds=float(off)))
            t += step
        return out

    def draw(self, ts: datetime) -> Incident:
        """One incident at time ts (UTC): place, type, caller, address."""
        rng = self.rng
        hot: Hotspot | None = None
        u = rng.random()
        if u < REPEAT_PLACE_P and self._recent:
            x, y, typ = self._recent[rng.integers(len(self._recent))]
            x, y = x + rng.normal(0, 10), y + rng.normal(0, 10)
        elif u < REPEAT_PLACE_P + HOTSPOT_SHARE:
            hot = self.d.hotspots[rng.choice(len(self.d.hotspots), p=self._hot_p)]
            x, y = hot.x + rng.normal(0, 120), hot.y + rng.normal(0, 120)
            typ = hot.types[rng.integers(len(hot.types))] if rng.random() < 0.7 else str(rng.choice(TYPE_NAMES, p=TYPE_P))
        else:
            nx, ny = self.d.roads.xy[rng.choice(len(self._node_p), p=self._node_p)]
            x, y = nx + rng.normal(0, 40), ny + rng.normal(0, 40)
            typ = str(rng.choice(TYPE_NAMES, p=TYPE_P))
        if not self.d.boundary.contains(Point(x, y)):
            x, y = (hot.x, hot.y) if hot else tuple(self.d.roads.xy[self.d.roads.nearest(x, y)])
        self._recent = (self._recent + [(x, y, typ)])[-200:]
        lat, lon = self.d.proj.to_latlon(x, y)
        node = self.d.roads.nearest(x, y)
        address = f"{self.d.roads.street(node)}{int(rng.integers(1, 400))}号" + (f"（{hot.name_zh}）" if hot else "")
        caller = self._callers[rng.integers(len(self._callers))] if rng.random() < REPEAT_CALLER_P else self._phone()
        _, priority, summary = TYPES[typ]
        self._seq += 1
        local = ts.astimezone(self.tz)
        return Incident(
            id=f"{self.prefix}{local:%Y%m%d%H%M%S}{self._seq % 10000:04d}", ts=ts, x=float(x), y=float(y),
            lat=float(lat), lon=float(lon), type=typ, priority=priority, address=address, caller=caller,
            summary=summary, station=self.d.station_of(x, y),
        )


def utcnow() -> datetime:
    """Now, UTC, timezone-aware."""
    return datetime.now(timezone.utc)
