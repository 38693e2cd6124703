"""Every component id in the app, in one place, grouped by page (ids are global in Dash).

Pattern-matching ids are built by the functions at the end of each group.
"""

# --- app shell (dashboard/shell.py) -----------------------------------------------------
URL = "app-url"
LANG = "app-lang"
HEADER = "app-header"
NAV_LINKS = "app-nav-links"
LANG_LINK = "app-lang-link"


# --- live map (layouts/live.py) --------------------------------------------------------



# --- dispatch (layouts/dispatch.py) ----------------------------------------------------



# --- three highs analysis (layouts/analysis.py) ---------------------------------------



