"""Every component id in the app, in one place, grouped by page (ids are global in Dash).

Pattern-matching ids are built by the functions at the end of each group.
"""

# --- app shell (dashboard/shell.py) -----------------------------------------------------
URL = "app-url"
LANG = "app-lang"
HEADER = "app-header"
NAV_LINKS = "app-nav-links"
LANG_LINK = "app-lang-link"


# --- live map (layouts/live.py, layouts/wall.py) -----------------------------------------
LIVE_MAP = "live-map"
LIVE_CONFIG = "live-config"            # dcc.Store: settings and labels for assets/js/*live*.js
LIVE_STARTED = "live-started"          # dummy output of the clientside start call
LIVE_STATION = "live-station"          # station filter dropdown
LIVE_OPTIONS = "live-options"          # checklist: show off-duty units, sound
LIVE_SEARCH = "live-search"
LIVE_SEARCH_MSG = "live-search-msg"
LIVE_SELECTED = "live-selected"        # dcc.Store: call sign of the clicked unit (set from JS)
LIVE_DETAILS = "live-details"
LIVE_TRAIL = "live-trail"              # dl.Polyline of the selected unit's last 30 minutes
LIVE_COUNTS = "live-counts"
LIVE_ALERTS = "live-alerts"            # alert feed, children set from JS
LIVE_ALERTS_OPEN = "live-alerts-open"
LIVE_BANNER = "live-banner"            # "connection lost since ..."
LIVE_CLOCK = "live-clock"


def live_layer(name: str) -> str:
    """Id of the dl.GeoJSON of a live map layer (dashboard/layers.py)."""
    return f"live-layer-{name}"


def live_ack(alert_id: int | str) -> dict:
    """Pattern-matching id of an alert's acknowledge button."""
    return {"type": "live-ack", "alert": alert_id}


# --- dispatch (layouts/dispatch.py) ----------------------------------------------------



# --- three highs analysis (layouts/analysis.py) ---------------------------------------



