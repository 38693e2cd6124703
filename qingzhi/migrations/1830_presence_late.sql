-- Presence (见警率, 勤务落实率) for fixes that come late, as playback already has (migration 1810).
-- Each clock hour's figures per zone are kept for a while, with the minimum that applied then, so
-- that an hour the ingest queues again (presence_late: a fix for it arrived after it was measured)
-- is measured again with the same minimums and presence_day gets the difference.
CREATE TABLE presence_hour (
    hour               timestamptz NOT NULL,          -- the clock hour's start (UTC)
    zone               text NOT NULL,
    station            text NOT NULL,
    need               integer NOT NULL,              -- the zone's minimum in force when first measured
    minutes            integer NOT NULL,
    met_minutes        integer NOT NULL,
    required_unit_min  double precision NOT NULL,
    delivered_unit_min double precision NOT NULL,
    zone_hours         integer NOT NULL,
    zone_hours_seen    integer NOT NULL,
    PRIMARY KEY (hour, zone)
);
CREATE TABLE presence_late (
    hour  timestamptz PRIMARY KEY                     -- a measured hour a late fix belongs to
);
