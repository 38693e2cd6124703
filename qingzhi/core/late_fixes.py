"""When the duty loop folds an hour of position history (playback's tracks, the presence figures),
and what becomes of the fixes that come after.

A device out of coverage keeps its fixes and sends them when it is back, maybe hours later. Each
hour is folded FOLD_GRACE after it ends, so that fixes on their way still count; a fix received
later than that has its hour queued by the ingest (ingest/store.py LATE_FIXES: `track_late` per
unit for playback, `presence_late` per hour for presence, where a late status queues the hours it
decides too), and the next fold folds that hour again.
"""

from __future__ import annotations

import datetime as dt

FOLD_GRACE = dt.timedelta(minutes=15)
