-- Playback (issue 12): each unit's track folded by the duty loop into one row per hour, thinned to one
-- fix per 30 s and kept as arrays, so a whole shift of a whole district loads in a fraction of a second.
CREATE TABLE track_hours (
    unit     text NOT NULL,
    hour     timestamptz NOT NULL,                   -- the hour's start (UTC)
    station  text NOT NULL,
    t        float8[] NOT NULL,                      -- epoch seconds, ascending
    lat      float8[] NOT NULL,
    lon      float8[] NOT NULL,
    PRIMARY KEY (unit, hour)
);
CREATE INDEX track_hours_hour_idx ON track_hours (hour);

-- Hours before `until` are folded; playback reads later ones from positions itself.
CREATE TABLE track_folded (
    id     boolean PRIMARY KEY DEFAULT true CHECK (id),
    until  timestamptz NOT NULL
);
