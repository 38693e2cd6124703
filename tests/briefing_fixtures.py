"""A crafted district for the briefing tests, with every figure's answer worked out by hand.

Day D = 2026-11-21 (Asia/Shanghai). Stations S1 and S2.
- D: S1 theft.ebike ×3 (one cancelled), fraud.scam ×2, dispute.fight, homicide.knife, and one merged
  theft.ebike (left out); S2 theft.burglary ×2, noise.complaint → 10 calls.
- D-1: S1 theft.ebike ×2 → 2 calls. D a year back: 4 calls, 2 of them repeats.
- Callers: c1 called on D-3 and twice on D (both repeats); c2 once → repeat share 2/10.
- Closed loop on D (9 not cancelled/merged): 3 closed; reviews rated 5, 4, 4 and one unrated.
- Checks on D: S1 4 (1 hit), S2 1 (1 hit) → 2/5.
- Unit U1 (S1) on scene 00:00–00:30 (since the day before) and 10:00–11:00 = 90 min; its camera
  records 00:00–00:10 and 10:30–12:00 → 40 of 90 min; at 12:00 off with battery 5 % (flat).
  Unit U2 (S2) camera fault at 09:00.
- Overdue: P1 S1-FRAUD-1 assigned after 120 s (limit 60); the P3 calls still open and never assigned
  (S1-FIGHT, S2-BURGLARY-1/2, S2-NOISE) → 5.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from dispatch_fixtures import seed_incident, seed_station

TZ = "Asia/Shanghai"
D = dt.date(2026, 11, 21)
T0 = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)  # a Tuesday: the playback tracks start here


def at(day: dt.date, hh: int, mm: int = 0, ss: int = 0) -> dt.datetime:
    """A local time on a day."""
    return dt.datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=ZoneInfo(TZ))


async def seed_briefing(conn: Any) -> None:
    """The district above."""
    await seed_station(conn, "S1")
    await seed_station(conn, "S2", 30.30, 120.20)
    prev, back3, year = D - dt.timedelta(days=1), D - dt.timedelta(days=3), dt.date(2025, 11, 21)
    rows = [
        ("S1-EBIKE-1", at(D, 8), "theft.ebike", "S1", {"caller_hash": "c1", "closed_at": at(D, 9),
                                                       "state": "closed"}),
        ("S1-EBIKE-2", at(D, 9), "theft.ebike", "S1", {"caller_hash": "c1", "closed_at": at(D, 10),
                                                       "state": "closed"}),
        ("S1-EBIKE-3", at(D, 10), "theft.ebike", "S1", {"state": "cancelled", "cancelled_at": at(D, 10, 5)}),
        ("S1-FRAUD-1", at(D, 11), "fraud.scam", "S1", {"priority": 1, "assigned_at": at(D, 11, 2),
                                                      "on_scene_at": at(D, 11, 4), "state": "on_scene"}),
        ("S1-FRAUD-2", at(D, 12), "fraud.scam", "S1", {"caller_hash": "c2", "closed_at": at(D, 13),
                                                      "state": "closed"}),
        ("S1-FIGHT", at(D, 13), "dispute.fight", "S1", {}),
        ("S1-HOMICIDE", at(D, 14), "homicide.knife", "S1", {"priority": 1, "assigned_at": at(D, 14, 0, 30),
                                                           "on_scene_at": at(D, 14, 3), "state": "on_scene"}),
        ("S2-BURGLARY-1", at(D, 15), "theft.burglary", "S2", {}),
        ("S2-BURGLARY-2", at(D, 16), "theft.burglary", "S2", {}),
        ("S2-NOISE", at(D, 10), "noise.complaint", "S2", {}),
        ("S1-PREV-1", at(prev, 8), "theft.ebike", "S1", {}),
        ("S1-PREV-2", at(prev, 9), "theft.ebike", "S1", {}),
        ("S1-BACK3", at(back3, 9), "theft.ebike", "S1", {"caller_hash": "c1"}),
        ("Y-1", at(year, 8), "theft.ebike", "S1", {"caller_hash": "y1"}),
        ("Y-2", at(year, 9), "theft.ebike", "S1", {"caller_hash": "y1"}),
        ("Y-3", at(year, 10), "theft.ebike", "S1", {"caller_hash": "y1"}),
        ("Y-4", at(year, 11), "fraud.scam", "S1", {}),
    ]
    for iid, ts, typ, station, extra in rows:
        extra = {"priority": 3, **extra}
        priority = extra.pop("priority")
        await seed_incident(conn, iid, ts=ts, type=typ, station=station, priority=priority, **extra)
    await seed_incident(conn, "S1-EBIKE-DUP", ts=at(D, 10, 1), type="theft.ebike", state="merged",
                        merged_into="S1-EBIKE-3", priority=3)
    await conn.executemany(
        """INSERT INTO incident_reviews (incident, step, by_whom, result, satisfaction)
           VALUES ($1, 'review', 'tester', 'ok', $2)""",
        [("S1-EBIKE-1", 5), ("S1-EBIKE-2", 4), ("S1-FRAUD-2", 4), ("S1-FIGHT", None)],
    )
    await conn.executemany(
        """INSERT INTO checks (id, unit, station, ts, recv_ts, lat, lon, kind, hit)
           VALUES ($1, $2, $3, $4, $4, 30.27, 120.15, 'person', $5)""",
        [(f"K{i}", "U1", "S1", at(D, 9 + i), i == 0) for i in range(4)] + [("K9", "U2", "S2", at(D, 9), True)],
    )
    await conn.execute("SELECT qz_ensure_partitions(t, $1, $2) FROM unnest(ARRAY['statuses', 'cam_states']) t",
                       D - dt.timedelta(days=2), D + dt.timedelta(days=1))
    await conn.executemany(
        "INSERT INTO statuses (unit, ts, recv_ts, station, status) VALUES ($1, $2, $2, $3, $4)",
        [("U1", at(prev, 23), "S1", "on_scene"), ("U1", at(D, 0, 30), "S1", "available"),
         ("U1", at(D, 10), "S1", "on_scene"), ("U1", at(D, 11), "S1", "available")],
    )
    await conn.executemany(
        "INSERT INTO cam_states (unit, ts, recv_ts, station, state, batt) VALUES ($1, $2, $2, $3, $4, $5)",
        [("U1", at(prev, 22), "S1", "recording", 80.0), ("U1", at(D, 0, 10), "S1", "standby", 70.0),
         ("U1", at(D, 10, 30), "S1", "recording", 50.0), ("U1", at(D, 12), "S1", "off", 5.0),
         ("U2", at(D, 9), "S2", "fault", 60.0)],
    )


async def seed_tracks(conn: Any) -> None:
    """Playback: A1 (S1) drives north from 08:00 to 10:00 UTC on T0's day, a fix every 10 s; B1 (S2)
    parks until 08:30 then drives east; A1's statuses; incident I1 at 08:25 (I0 before the window)."""
    await seed_station(conn, "S1")
    await seed_station(conn, "S2", 30.30, 120.20)
    await conn.execute("SELECT qz_ensure_partitions(t, '2026-11-24', '2026-11-24') "
                       "FROM unnest(ARRAY['positions', 'statuses']) t")
    fixes = []
    for k in range(0, 2 * 3600, 10):  # 08:00–10:00, a fix every 10 s
        ts = T0 + dt.timedelta(seconds=k)
        fixes.append(("A1", ts, "S1", 30.0 + k * 1e-5, 120.0))            # drives north 1e-5° per second
        fixes.append(("B1", ts, "S2", 31.0, 121.0 if k < 1800 else 121.0 + (k - 1800) * 1e-5))  # parked 30 min
    await conn.executemany("INSERT INTO positions (unit, ts, recv_ts, station, lat, lon) VALUES ($1, $2, $2, $3, $4, $5)",
                           fixes)
    await conn.executemany("INSERT INTO statuses (unit, ts, recv_ts, station, status) VALUES ($1, $2, $2, $3, $4)",
                           [("A1", T0 - dt.timedelta(minutes=5), "S1", "patrolling"),
                            ("A1", T0 + dt.timedelta(minutes=30), "S1", "en_route"),
                            ("A1", T0 + dt.timedelta(minutes=40), "S1", "on_scene")])
    await conn.execute("""INSERT INTO incidents (id, ts, lat, lon, type, category, station)
                          VALUES ('I1', $1, 30.02, 120.0, 'theft.ebike', 'theft', 'S1'),
                                 ('I0', $2, 30.02, 120.0, 'theft.ebike', 'theft', 'S1')""",
                       T0 + dt.timedelta(minutes=25), T0 - dt.timedelta(minutes=25))
