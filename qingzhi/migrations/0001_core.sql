-- Core schema: reference data (stations, zones, units), the live state of every unit,
-- day-partitioned history of positions / camera states / statuses, incidents, commands,
-- acknowledgements, alerts, rejected messages and ingest statistics.
-- Times are timestamptz; history tables are partitioned by UTC day.

CREATE TABLE stations (
    id          text PRIMARY KEY,
    name_zh     text NOT NULL,
    name_en     text NOT NULL,
    lat         double precision NOT NULL,          -- the station building
    lon         double precision NOT NULL,
    boundary    jsonb                                -- GeoJSON Polygon of the jurisdiction
);

CREATE TABLE zones (                                 -- patrol zones (beats, 巡区)
    id          text PRIMARY KEY,
    station     text NOT NULL REFERENCES stations(id),
    name_zh     text NOT NULL,
    name_en     text NOT NULL,
    boundary    jsonb NOT NULL,                      -- GeoJSON Polygon
    center_lat  double precision NOT NULL,
    center_lon  double precision NOT NULL,
    alert_level smallint NOT NULL DEFAULT 0 CHECK (alert_level BETWEEN 0 AND 4), -- 0 normal, 1 highest (一级)
    min_units   integer NOT NULL DEFAULT 1 CHECK (min_units >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every change to a unit's live row takes a new number from this sequence, so the
-- dashboard can ask for "what changed since version N" and send only that.
CREATE SEQUENCE units_version_seq;

CREATE TABLE units (
    id          text PRIMARY KEY,                    -- call sign
    station     text NOT NULL,
    kind        text NOT NULL DEFAULT 'unknown' CHECK (kind IN ('car', 'ebike', 'foot', 'unknown')),
    zone        text,                                -- home patrol zone
    -- latest position (never moved back by a late fix)
    fix_ts      timestamptz,
    lat         double precision,
    lon         double precision,
    speed       real,
    heading     real,
    acc         real,
    alt         real,
    batt        real,
    -- latest status
    status      text CHECK (status IN ('available', 'patrolling', 'en_route', 'on_scene', 'busy', 'off_duty', 'offline')),
    status_ts   timestamptz,
    incident    text,
    sos         boolean NOT NULL DEFAULT false,
    -- latest camera state
    cam_state   text CHECK (cam_state IN ('recording', 'streaming', 'standby', 'off', 'fault')),
    cam_ts      timestamptz,
    cam_batt    real,
    cam_storage real,
    stream_url  text,
    last_recv   timestamptz,                         -- server receive time of the newest message of any kind
    version     bigint NOT NULL DEFAULT nextval('units_version_seq')
) WITH (fillfactor = 70);
CREATE INDEX units_version_idx ON units (version);
CREATE INDEX units_station_idx ON units (station);

CREATE TABLE positions (
    unit     text NOT NULL,
    ts       timestamptz NOT NULL,                   -- device fix time
    recv_ts  timestamptz NOT NULL,                   -- server receive time
    station  text NOT NULL,
    lat      double precision NOT NULL,
    lon      double precision NOT NULL,
    speed    real,
    heading  real,
    acc      real,
    alt      real,
    batt     real,
    extra    jsonb,                                  -- unknown fields, kept
    PRIMARY KEY (unit, ts)                           -- one fix per unit and time: redeliveries absorbed
) PARTITION BY RANGE (ts);
CREATE INDEX positions_ts_brin ON positions USING brin (ts);

CREATE TABLE cam_states (
    unit       text NOT NULL,
    ts         timestamptz NOT NULL,
    recv_ts    timestamptz NOT NULL,
    station    text NOT NULL,
    state      text NOT NULL CHECK (state IN ('recording', 'streaming', 'standby', 'off', 'fault')),
    batt       real,
    storage    real,
    stream_url text,
    extra      jsonb,
    PRIMARY KEY (unit, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX cam_states_ts_brin ON cam_states USING brin (ts);

CREATE TABLE statuses (
    unit     text NOT NULL,
    ts       timestamptz NOT NULL,                   -- the receive time where the device gave none (last will)
    recv_ts  timestamptz NOT NULL,
    station  text NOT NULL,
    status   text NOT NULL CHECK (status IN ('available', 'patrolling', 'en_route', 'on_scene', 'busy', 'off_duty', 'offline')),
    incident text,
    sos      boolean NOT NULL DEFAULT false,
    extra    jsonb,
    PRIMARY KEY (unit, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX statuses_ts_brin ON statuses USING brin (ts);

CREATE TABLE incidents (
    id            text PRIMARY KEY,                  -- the call-taking system's number
    ts            timestamptz NOT NULL,              -- call received
    occurred_from timestamptz,                       -- when it happened, where known only as a window
    occurred_to   timestamptz,
    lat           double precision NOT NULL,
    lon           double precision NOT NULL,
    type          text NOT NULL,                     -- e.g. theft.ebike
    category      text NOT NULL,                     -- the part before the first dot: theft
    priority      smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 4),
    address       text,
    caller_hash   text,                              -- keyed hash, never the number itself
    summary       text,
    station       text,                              -- jurisdiction
    source        text NOT NULL DEFAULT 'mqtt' CHECK (source IN ('mqtt', 'import', 'form', 'simulator')),
    state         text NOT NULL DEFAULT 'received' CHECK (state IN
                  ('received', 'assigned', 'en_route', 'on_scene', 'handled', 'feedback', 'closed', 'cancelled', 'merged')),
    assigned_at   timestamptz,
    en_route_at   timestamptz,
    on_scene_at   timestamptz,
    handled_at    timestamptz,
    feedback_at   timestamptz,
    closed_at     timestamptz,
    cancelled_at  timestamptz,
    merged_into   text REFERENCES incidents(id),
    extra         jsonb,
    recv_ts       timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (occurred_to IS NULL OR occurred_from IS NULL OR occurred_to >= occurred_from)
);
CREATE INDEX incidents_ts_idx ON incidents (ts);
CREATE INDEX incidents_station_ts_idx ON incidents (station, ts);
CREATE INDEX incidents_open_idx ON incidents (priority, ts) WHERE state NOT IN ('closed', 'cancelled', 'merged');
CREATE INDEX incidents_caller_idx ON incidents (caller_hash, ts) WHERE caller_hash IS NOT NULL;

CREATE TABLE commands (                              -- centre -> device, PROTOCOL.md "cmd"
    id           uuid PRIMARY KEY,
    ts           timestamptz NOT NULL,
    unit         text NOT NULL,
    station      text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('dispatch', 'patrol', 'recall', 'message')),
    incident     text,
    zone         text,
    lat          double precision,
    lon          double precision,
    note         text,
    issued_by    text NOT NULL,
    published_at timestamptz,                        -- the broker accepted it
    ack_ts       timestamptz,                        -- device time of the first ack
    ack_recv_ts  timestamptz
);
CREATE INDEX commands_unit_ts_idx ON commands (unit, ts);
CREATE INDEX commands_incident_idx ON commands (incident) WHERE incident IS NOT NULL;

CREATE TABLE acks (                                  -- every ack as received, also for unknown ids
    command  text NOT NULL,
    unit     text NOT NULL,
    ts       timestamptz NOT NULL,
    recv_ts  timestamptz NOT NULL,
    station  text NOT NULL,
    PRIMARY KEY (command, unit)
);

CREATE TABLE alerts (
    id        bigserial PRIMARY KEY,
    ts        timestamptz NOT NULL,
    kind      text NOT NULL,                         -- sos, cam_recording, cam_fault, cam_batt_low, unit_lost, unit_offline, zone_level, ack_timeout, overdue
    severity  smallint NOT NULL DEFAULT 2 CHECK (severity BETWEEN 1 AND 3), -- 1 critical
    subject   text NOT NULL,                         -- the unit, zone or incident it is about
    unit      text,
    station   text,
    zone      text,
    incident  text,
    detail    jsonb,
    acked_by  text,
    acked_at  timestamptz,
    UNIQUE (kind, subject, ts)                       -- a redelivered message raises no second alert
);
CREATE INDEX alerts_open_idx ON alerts (ts DESC) WHERE acked_at IS NULL;
CREATE INDEX alerts_ts_idx ON alerts (ts DESC);

CREATE TABLE rejects (                               -- PROTOCOL.md "Bad input"
    id       bigserial PRIMARY KEY,
    recv_ts  timestamptz NOT NULL DEFAULT now(),
    topic    text NOT NULL,
    payload  bytea NOT NULL,
    reason   text NOT NULL
);
CREATE INDEX rejects_recv_ts_idx ON rejects (recv_ts DESC);

CREATE TABLE ingest_stats (                          -- one row per running ingest process
    instance     text PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    stats        jsonb NOT NULL
);

-- Day partitions: ensure [from_day, to_day] exist for a partitioned table.
CREATE FUNCTION qz_ensure_partitions(tbl text, from_day date, to_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    d date := from_day;
    made integer := 0;
    part text;
BEGIN
    WHILE d <= to_day LOOP
        part := format('%s_p%s', tbl, to_char(d, 'YYYYMMDD'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           part, tbl, (d::timestamp AT TIME ZONE 'UTC'), ((d + 1)::timestamp AT TIME ZONE 'UTC'));
            made := made + 1;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN made;
END $$;

-- Retention: drop whole day partitions older than keep_from (dropping is instant; DELETE is not).
CREATE FUNCTION qz_drop_partitions_before(tbl text, keep_from date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    dropped integer := 0;
BEGIN
    FOR r IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = tbl AND c.relname ~ ('^' || tbl || '_p[0-9]{8}$')
          AND to_date(right(c.relname, 8), 'YYYYMMDD') < keep_from
    LOOP
        EXECUTE format('DROP TABLE %I', r.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END $$;

-- The ingest accepts fixes up to 7 days old and 5 minutes ahead: have those days ready now.
SELECT qz_ensure_partitions(t, (now() AT TIME ZONE 'UTC')::date - 8, (now() AT TIME ZONE 'UTC')::date + 2)
FROM unnest(ARRAY['positions', 'cam_states', 'statuses']) AS t;
