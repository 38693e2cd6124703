"""Every component id in the app, in one place, grouped by page (ids are global in Dash).

Pattern-matching ids are built by the functions at the end of each group, from the `*_TYPE`
constants that callbacks compare a clicked id's "type" with. tests/test_ids.py fails if a
module outside this one spells an id out.
"""

# --- app shell (dashboard/shell.py) -----------------------------------------------------
URL = "app-url"
LANG = "app-lang"
HEADER = "app-header"
NAV_LINKS = "app-nav-links"
LANG_LINK = "app-lang-link"
USER_NAME = "app-user-name"
LOGOUT = "app-logout"


def layers_control(map_id: str) -> str:
    """Id of a map's layer control (dashboard/maps.py)."""
    return f"{map_id}-layers"


# --- camera live views (dashboard/cameras/, assets/js/6*_camera_*.js) ---------------------
CAMERA_CONFIG = "camera-config"        # hidden: the player's settings and labels (data-config)
WALL_CAMERAS = "wall-cameras"          # the wall's strip of the newest streams
DISPATCH_CAMERAS = "dispatch-cameras"  # the selected incident's units' cameras
DISPATCH_CAMERAS_FOLLOW = "dispatch-cameras-follow"  # dummy output: the strip follows the selected incident

# --- live map (layouts/live.py, layouts/wall.py, dashboard/live/) -------------------------
LIVE_MAP = "live-map"
LIVE_CONFIG = "live-config"            # dcc.Store: settings and labels for assets/js/*live*.js
LIVE_STARTED = "live-started"          # dummy output of the clientside start call
LIVE_STATION = "live-station"          # station filter dropdown
LIVE_OPTIONS = "live-options"          # checklist: show off-duty units, sound
LIVE_SEARCH = "live-search"
LIVE_SEARCH_MSG = "live-search-msg"
LIVE_SELECTED = "live-selected"        # dcc.Store: call sign of the clicked unit (set from JS)
LIVE_DETAILS = "live-details"
LIVE_TRAIL = "live-trail"              # dl.GeoJSON: the selected unit's last 30 minutes
LIVE_COUNTS = "live-counts"
LIVE_ALERTS = "live-alerts"            # alert feed, children set from JS
LIVE_ALERTS_OPEN = "live-alerts-open"
LIVE_BANNER = "live-banner"            # "connection lost since ..."
LIVE_CLOCK = "live-clock"
LIVE_ACK_TYPE = "live-ack"


def live_layer(name: str) -> str:
    """Id of one of the live map's overlay layers (dashboard/maps.py)."""
    return f"live-layer-{name}"


def live_ack(alert_id: int | str) -> dict:
    """Pattern-matching id of an alert's acknowledge button."""
    return {"type": LIVE_ACK_TYPE, "alert": alert_id}


# --- dispatch (layouts/dispatch.py, dashboard/dispatch/) -----------------------------------
DISPATCH_CONFIG = "dispatch-config"  # dcc.Store: endpoint, timings and ids for assets/js/50_dispatch_stream.js
DISPATCH_STARTED = "dispatch-started"  # dummy output of the clientside calls
DISPATCH_SELECTED = "dispatch-selected"
DISPATCH_REFRESH = "dispatch-refresh"  # bumped after every action so the panels redraw at once
DISPATCH_QUEUE_SHOWN = "dispatch-queue-shown"  # token of what the queue shows (for the JS)
DISPATCH_DETAIL_SHOWN = "dispatch-detail-shown"  # incident, token and actions token of the detail panels
DISPATCH_BANNER = "dispatch-banner"  # "connection lost since ..."
DISPATCH_MSG = "dispatch-msg"
DISPATCH_TABS = "dispatch-tabs"
DISPATCH_QUEUE = "dispatch-queue"
DISPATCH_QUEUE_COUNT = "dispatch-queue-count"
DISPATCH_MAP = "dispatch-map"
DISPATCH_ZONES = "dispatch-zones"
DISPATCH_JURISDICTIONS = "dispatch-jurisdictions"
DISPATCH_MAP_LAYER = "dispatch-map-layer"  # the selected incident, its units, the recommended ones
DISPATCH_PIN = "dispatch-pin"  # where the new incident is
DISPATCH_HEAD = "dispatch-head"
DISPATCH_UNITS = "dispatch-units"
DISPATCH_RECOMMEND = "dispatch-recommend"
DISPATCH_ACTIONS = "dispatch-actions"
DISPATCH_CLICK = "dispatch-click"  # the map point chosen for a new incident
DISPATCH_FORM_TYPE = "dispatch-form-type"
DISPATCH_FORM_PRIORITY = "dispatch-form-priority"
DISPATCH_FORM_ADDRESS = "dispatch-form-address"
DISPATCH_FORM_SUMMARY = "dispatch-form-summary"
DISPATCH_FORM_CALLER = "dispatch-form-caller"
DISPATCH_FORM_WHERE = "dispatch-form-where"
DISPATCH_FORM_SUBMIT = "dispatch-form-submit"
DISPATCH_FLAGS = "dispatch-flags"
DISPATCH_FLAG_DETAIL = "dispatch-flag-detail"
DISPATCH_FOLLOWUPS = "dispatch-followups"
DISPATCH_TIMES_BY = "dispatch-times-by"
DISPATCH_TIMES = "dispatch-times"
DISPATCH_SETTINGS = "dispatch-settings"
DISPATCH_GRID_STATION = "dispatch-grid-station"
DISPATCH_GRID_UPLOAD = "dispatch-grid-upload"
DISPATCH_INCIDENT_TYPE = "dispatch-incident"
DISPATCH_STEP_TYPE = "dispatch-step"
DISPATCH_ASSIGN_TYPE = "dispatch-assign"
DISPATCH_RELEASE_TYPE = "dispatch-release"
DISPATCH_ACTION_TYPE = "dispatch-action"
DISPATCH_FIELD_TYPE = "dispatch-field"
DISPATCH_FLAG_TYPE = "dispatch-flag"
DISPATCH_FLAG_TASK_TYPE = "dispatch-flag-task"
DISPATCH_FOLLOWUP_STEP_TYPE = "dispatch-fu-step"
DISPATCH_FOLLOWUP_INPUT_TYPE = "dispatch-fu-input"
DISPATCH_SETTING_TYPE = "dispatch-setting"
DISPATCH_SETTING_SAVE_TYPE = "dispatch-setting-save"


def dispatch_panel(tab: str) -> str:
    """The panel under one of the left-hand tabs (queue, flags, followups, times, new, settings)."""
    return f"dispatch-panel-{tab}"


def dispatch_incident(incident: str, where: str = "queue") -> dict:
    """A clickable incident: `where` is queue or flag (the same incident may be in both lists)."""
    return {"type": DISPATCH_INCIDENT_TYPE, "id": incident, "in": where}


def dispatch_step(step: str) -> dict:
    """A lifecycle button (en_route, on_scene, handled)."""
    return {"type": DISPATCH_STEP_TYPE, "step": step}


def dispatch_assign(unit: str) -> dict:
    """The assign button of a recommended unit."""
    return {"type": DISPATCH_ASSIGN_TYPE, "unit": unit}


def dispatch_release(unit: str, replace_with: str = "") -> dict:
    """Release a unit from the selected incident (and send `replace_with` instead, if given)."""
    return {"type": DISPATCH_RELEASE_TYPE, "unit": unit, "next": replace_with}


def dispatch_action(name: str) -> dict:
    """A button of the incident's action forms (feedback, review, cancel, merge)."""
    return {"type": DISPATCH_ACTION_TYPE, "name": name}


def dispatch_field(name: str) -> dict:
    """An input of the incident's action forms (result, rating, note, reason, into)."""
    return {"type": DISPATCH_FIELD_TYPE, "name": name}


def dispatch_flag(key: str) -> dict:
    """A repeat flag in the list (click: show its incidents)."""
    return {"type": DISPATCH_FLAG_TYPE, "key": key}


def dispatch_flag_task(key: str) -> dict:
    """Make a follow-up task from a repeat flag."""
    return {"type": DISPATCH_FLAG_TASK_TYPE, "key": key}


def dispatch_followup_step(task: int, step: str) -> dict:
    """Move a follow-up task on."""
    return {"type": DISPATCH_FOLLOWUP_STEP_TYPE, "task": task, "step": step}


def dispatch_followup_input(task: int) -> dict:
    """The text a follow-up step needs (officer, result, rating)."""
    return {"type": DISPATCH_FOLLOWUP_INPUT_TYPE, "task": task}


def dispatch_setting(key: str) -> dict:
    """The JSON text of one dispatch setting."""
    return {"type": DISPATCH_SETTING_TYPE, "key": key}


def dispatch_setting_save(key: str) -> dict:
    """Save one dispatch setting."""
    return {"type": DISPATCH_SETTING_SAVE_TYPE, "key": key}


# --- three highs analysis (layouts/analysis.py, dashboard/analysis/) ------------------------
AN_DATES = "an-dates"
AN_QUICK = "an-quick"
AN_ANCHOR = "an-anchor"            # store: the last day quick picks count back from
AN_STATIONS = "an-stations"
AN_CATEGORIES = "an-categories"
AN_TYPES = "an-types"
AN_PRIORITIES = "an-priorities"
AN_COMPARE = "an-compare"
AN_RES = "an-res"
AN_LAYERS = "an-layers"
AN_FILTERS = "an-filters"            # store: the normalised filters every panel reads
AN_MAP = "an-map"
AN_HEX = "an-hex"
AN_GI = "an-gi"
AN_KDE = "an-kde"
AN_MAP_NOTE = "an-map-note"
AN_TOP = "an-top"
AN_FOCUS = "an-focus"
AN_HEAT = "an-heat"
AN_PEAK = "an-peak"
AN_PARETO = "an-pareto"
AN_TYPES_TABLE = "an-types-table"
AN_TYPES_BY = "an-types-by"
AN_SUMMARY = "an-summary"
AN_SUMMARY_COPY = "an-summary-copy"
AN_SUMMARY_TABLE = "an-summary-table"
AN_QUALITY = "an-quality"
AN_CELL = "an-cell"
AN_CELL_TITLE = "an-cell-title"
AN_QUALITY_RUN = "an-quality-run"      # button: score the hotspot methods for the current selection
AN_QUALITY_STATE = "an-quality-state"
AN_AREA = "an-area"                  # which study area the figures use, its km², how many incidents lie outside
AN_OUTSIDE = "an-outside"            # table: the incidents outside the study area
AN_OUTSIDE_TITLE = "an-outside-title"
AN_DOWNLOAD = "an-download"
AN_ERROR = "an-error"
AN_CSV_TYPE = "an-csv"


def an_csv_button(table: str) -> dict[str, str]:
    """The 'CSV' button under one of the analysis tables (pattern-matching id)."""
    return {"type": AN_CSV_TYPE, "table": table}

# /audit (admins): search and export the audit log
AUDIT_ACTOR = "audit-actor"
AUDIT_ACTION = "audit-action"
AUDIT_INCIDENT = "audit-incident"
AUDIT_FROM = "audit-from"
AUDIT_TO = "audit-to"
AUDIT_SEARCH = "audit-search"
AUDIT_COUNT = "audit-count"
AUDIT_TABLE = "audit-table"
AUDIT_EXPORT = "audit-export"
AUDIT_DOWNLOAD = "audit-download"

# --- briefing (layouts/briefing.py, dashboard/briefing/) ----------------------------------------
BRIEF_KIND = "brief-kind"
BRIEF_DAY = "brief-day"
BRIEF_TO = "brief-to"
BRIEF_STATION = "brief-station"
BRIEF_SHOW = "brief-show"
BRIEF_BODY = "brief-body"
BRIEF_ERROR = "brief-error"
BRIEF_EXPORT_HTML = "brief-export-html"
BRIEF_EXPORT_PDF = "brief-export-pdf"
BRIEF_EXPORT_CSV = "brief-export-csv"
BRIEF_DOWNLOAD = "brief-download"
BRIEF_EXPORT_STATUS = "brief-export-status"
BRIEF_TASK_TITLE = "brief-task-title"
BRIEF_TASK_STATION = "brief-task-station"
BRIEF_TASK_OFFICER = "brief-task-officer"
BRIEF_TASK_DEADLINE = "brief-task-deadline"
BRIEF_TASK_CREATE = "brief-task-create"
BRIEF_TASK_RESULT = "brief-task-result"
BRIEF_TASK_MSG = "brief-task-msg"
BRIEF_TASK_DONE_TYPE = "brief-task-done"


BRIEF_SUMMARY = "bf-summary"


def brief_section(name: str) -> str:
    """A section of the briefing (headlines, rates, …, tasks: dashboard/briefing/document.SECTIONS)."""
    return f"bf-{name}"


def brief_task_done(task: int) -> dict[str, object]:
    """The "mark done" button of one meeting task."""
    return {"type": BRIEF_TASK_DONE_TYPE, "task": task}

# --- playback (layouts/playback.py, dashboard/briefing/playback_parts.py) ----------------------
PB_DAY = "pb-day"
PB_FROM = "pb-from"
PB_TO = "pb-to"
PB_UNITS = "pb-units"
PB_AREA = "pb-area"
PB_LOAD = "pb-load"
PB_MSG = "pb-msg"
PB_DATA = "pb-data"
PB_MAP = "pb-map"
PB_UNIT_LAYER = "pb-unit-layer"
PB_INCIDENT_LAYER = "pb-incident-layer"
PB_STOP_LAYER = "pb-stop-layer"
PB_SLIDER = "pb-slider"
PB_PLAY = "pb-play"
PB_SPEED = "pb-speed"
PB_TICK = "pb-tick"
PB_CLOCK = "pb-clock"


# --- search (一键查询) ---------------------------------------------------------------------------
SEARCH_TEXT = "search-text"
SEARCH_FROM = "search-from"
SEARCH_TO = "search-to"
SEARCH_GO = "search-go"
SEARCH_MSG = "search-msg"
SEARCH_RESULTS = "search-results"
SEARCH_TRACE = "search-trace"
SEARCH_RESULT_TYPE = "search-result"


def search_result(incident: str) -> dict:
    """A found incident; clicking it opens its trace."""
    return {"type": SEARCH_RESULT_TYPE, "id": incident}


def dispatch_task(task: int) -> str:
    """One follow-up task's card in the Tasks tab."""
    return f"dispatch-task-{task}"


# /duty (commanders): alert levels, the redeployment plan, applying it
DUTY_MAP = "duty-map"
DUTY_ZONES = "duty-zones"
DUTY_MOVES_LAYER = "duty-moves-layer"
DUTY_SCOPE = "duty-scope"
DUTY_TARGET = "duty-target"
DUTY_LEVEL = "duty-level"
DUTY_REASON = "duty-reason"
DUTY_HOURS = "duty-hours"
DUTY_SET = "duty-set"
DUTY_SET_MSG = "duty-set-msg"
DUTY_LEVELS = "duty-levels"
DUTY_VERSION = "duty-version"
DUTY_REFRESH = "duty-refresh"
DUTY_MOVES = "duty-moves"
DUTY_SHORT = "duty-short"
DUTY_TOTALS = "duty-totals"
DUTY_APPLY = "duty-apply"
DUTY_APPLY_MSG = "duty-apply-msg"
DUTY_SENT = "duty-sent"
DUTY_SENT_TABLE = "duty-sent-table"
DUTY_TICK = "duty-tick"
DUTY_RECALLS = "duty-recalls"
DUTY_RECALL = "duty-recall"
DUTY_SUGGESTIONS = "duty-suggestions"
DUTY_SUGG_MSG = "duty-sugg-msg"
DUTY_SUGG_TYPE = "duty-sugg"
DUTY_PRESENCE = "duty-presence"
WALL_DUTY = "wall-duty"
WALL_DUTY_TICK = "wall-duty-tick"


def duty_suggestion(action: str, suggestion: int | str) -> dict:
    """Pattern-matching id of a suggestion's accept / dismiss button."""
    return {"type": DUTY_SUGG_TYPE, "action": action, "id": suggestion}
