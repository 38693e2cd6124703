"""The words of the domain, listed once: unit statuses, unit kinds, camera states, priorities,
command kinds. The ingest's message shapes, the dashboard's legends and the recommender, and
the simulator all import them from here (PROTOCOL.md is the contract they follow)."""

from __future__ import annotations

UNIT_STATUSES = ("available", "patrolling", "en_route", "on_scene", "busy", "off_duty", "offline")
ON_DUTY = UNIT_STATUSES[:5]                 # working statuses (the live map's counts and legend)
SENDABLE = ("available", "patrolling")      # a unit in one of these may be sent to an incident
OFF = ("off_duty", "offline")               # not expected to report a position
UNIT_KINDS = ("car", "ebike", "foot")
UNKNOWN_KIND = "unknown"                    # a unit the roster does not know yet
CAM_STATES = ("recording", "streaming", "standby", "off", "fault")
CAM_RECORDING = ("recording", "streaming")  # streaming is recording and live-streamed
PRIORITIES = (1, 2, 3, 4)                   # 1 is the most urgent
DEFAULT_PRIORITY = 3
COMMAND_KINDS = ("dispatch", "patrol", "recall", "message")
