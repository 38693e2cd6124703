"""What the dispatch page shows, worked out in one place for its callbacks (after a click) and for
its live endpoint (dispatch/api.py, polled by the page's JS): the queue and the selected
incident, each with a token that changes exactly when something a commander could see changes,
and their rendering into the page's parts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from dashboard.auth.session_cookies import check_visible, visible_stations
from dashboard.context import AppContext
from dashboard.dispatch import queries as data
from dashboard.dispatch import components as dc
from dashboard.i18n import t
from dashboard.recommend import fleet_cache, recommend
from qingzhi.config import Settings
from qingzhi.core import audit, repeats
from qingzhi.core.dispatch import ASSIGNABLE
from qingzhi.core.dispatch_config import DispatchConfig, load_config
from qingzhi.core.roads import road_times

SCREEN = "dispatch"  # the audit log's name for actions taken on this page
TOP_K = 6
FLAGS_TTL_S = 60.0  # flags scan a month of incidents: recompute at most once a minute per process
_flags_cache: dict[int, tuple[float, list[dict]]] = {}
_lock = threading.Lock()


def token(*parts: Any) -> str:
    """A short fingerprint of what is shown."""
    return hashlib.sha1(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def config(app: AppContext) -> DispatchConfig:
    """The dispatch settings as they are now."""
    return app.db.run(load_config)


def current_flags(app: AppContext, cfg: DispatchConfig, *, fresh: bool = False) -> list[dict]:
    """The repeat flags of the stations the user may see, computed for all and cached per process for FLAGS_TTL_S."""
    key = id(app.db)
    with _lock:
        hit = _flags_cache.get(key)
    if hit and not fresh and time.monotonic() - hit[0] < FLAGS_TTL_S:
        flags = hit[1]
    else:
        flags = app.db.run(repeats.repeat_flags, cfg, now=dt.datetime.now(dt.UTC))
        with _lock:
            _flags_cache[key] = (time.monotonic(), flags)
    return in_scope(flags)


def in_scope(rows: list[dict]) -> list[dict]:
    """The rows (with a "station") the logged-in user may see."""
    scope = visible_stations()
    return rows if scope is None else [r for r in rows if r.get("station") in scope]


@dataclass(frozen=True)
class QueueView:
    """The open incidents as the queue shows them."""

    rows: list[dict[str, Any]]
    repeats: dict[str, list[dict]]  # incident -> the reasons of the flags naming it
    now: dt.datetime
    token: str

    def render(self, *, lang: str, selected: str | None) -> tuple[list, str]:
        """The queue's cards and its count line."""
        overdue = sum(1 for r in self.rows if r["overdue"])
        count = t("dispatch.queue.count", lang).format(n=len(self.rows), o=overdue)
        cards = dc.build_queue(self.rows, lang=lang, selected=selected, repeats=self.repeats, now=self.now)
        return cards, count


def queue_view(app: AppContext) -> QueueView:
    """The queue, sorted by priority and age, overdue ones marked (the waits advance in the browser,
    so they are not part of the token; the alerts themselves are raised by the duty loop)."""
    cfg = config(app)
    now = dt.datetime.now(dt.UTC)
    rows = app.db.run(data.queue, cfg, now=now, stations=visible_stations())
    repeats: dict[str, list[dict]] = {}
    for f in current_flags(app, cfg):
        for i in f["incidents"]:
            repeats.setdefault(i, []).append(f["reason"])
    shown = [[r[k] for k in ("id", "state", "priority", "overdue", "units", "ack", "address")] for r in rows]
    return QueueView(rows, repeats, now, token(shown, sorted(repeats.keys() & {r["id"] for r in rows})))


@dataclass(frozen=True)
class DetailView:
    """One incident with everything its panels show."""

    incident: dict[str, Any]
    candidates: list[dict[str, Any]]
    history: list[dict[str, Any]]
    ack_timeout_s: int
    agencies: list[dict[str, str]]
    now: dt.datetime
    token: str

    @property
    def actions_token(self) -> str:
        """Changes when other actions become possible (forms are not redrawn under the user's fingers)."""
        return f"{self.incident['id']}:{self.incident['state']}"

    def render(self, *, lang: str, settings: Settings) -> dict[str, list]:
        """The panels: head (facts, lifecycle, audit history), units, recommended units, map drawings."""
        d, cands, tz = self.incident, self.candidates, settings.timezone
        return {
            "head": dc.build_head(d, lang=lang, tz=tz, agencies=self.agencies) + dc.build_history(self.history, lang=lang, tz=tz),
            "units": dc.build_units(d, lang=lang, tz=tz, now=self.now, timeout_s=self.ack_timeout_s,
                                    next_unit=cands[0]["id"] if cands else None),
            "recommend": dc.build_recommend(cands, lang=lang, state=d["state"]),
            "layer": dc.build_map_layer(d, cands, lang=lang, settings=settings),
        }

    def render_actions(self, *, lang: str) -> list:
        """The buttons and forms for what may happen next."""
        return dc.build_actions(self.incident["state"], lang=lang, agencies=self.agencies)


def _recommended(app: AppContext, d: dict[str, Any], cfg: DispatchConfig) -> list[dict[str, Any]]:
    if d["state"] not in ASSIGNABLE:
        return []
    fleet = fleet_cache(app.db).get(app.db)
    on_it = [a["unit"] for a in d["assignments"]]  # sent already, or released from it: not offered again here
    roads = road_times(cfg.roads, app.settings.center_latlon, app.settings.data_dir)
    return recommend(fleet, d["lat"], d["lon"], cfg=cfg, now=time.time(), stale_after_s=app.settings.stale_after_s,
                     k=TOP_K, exclude=on_it, roads=roads, stations=visible_stations())


def detail_view(app: AppContext, incident: str) -> DetailView | None:
    """The incident, its units and their acks, the recommended units and its audit trail (None: no such incident)."""
    d = app.db.run(data.incident_detail, incident)
    if d is None:
        return None
    check_visible(d["station"])
    cfg = config(app)
    cands = _recommended(app, d, cfg)
    history = app.db.run(audit.entries, incident=d["id"], limit=30)
    now = dt.datetime.now(dt.UTC)
    acks = [dc.ack_state(a, now=now, timeout_s=cfg.ack_timeout_s) for a in d["assignments"]]
    shown = token(d, [(c["id"], round(c["eta_s"], -1)) for c in cands], len(history), acks)
    return DetailView(d, cands, history, cfg.ack_timeout_s, [a.model_dump() for a in cfg.agencies], now, shown)
