-- Playback's late fixes: a device that kept its fixes while out of coverage (OwnTracks and body
-- cameras do) sends them when it is back, maybe hours later, after the duty loop folded those hours
-- into track_hours. The ingest queues each such unit-hour here (ingest/store.py LATE_FIXES), and the
-- duty loop folds it again (qingzhi/core/briefing/playback.py fold_tracks), so playback shows where
-- the unit really was. Rare by nature: a few rows, drained every round.
CREATE TABLE track_late (
    unit  text NOT NULL,
    hour  timestamptz NOT NULL,                      -- the hour's start (UTC)
    PRIMARY KEY (unit, hour)
);
