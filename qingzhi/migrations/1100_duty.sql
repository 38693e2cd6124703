-- Graded duty (等级勤务) and dynamic deployment (issue 11): alert levels for the district, a station
-- or a zone; zone classes for the response plan's minimums; patrol commands' target level and end;
-- level suggestions; zones short of their minimum; presence and duty fulfilment per day.

ALTER TABLE zones ADD COLUMN zone_class text NOT NULL DEFAULT 'residential'
    CHECK (zone_class ~ '^[a-z_]{1,32}$');          -- the response plan's minimums are per class

CREATE TABLE alert_levels (                          -- the levels in force; expired rows are removed by the duty loop
    scope    text NOT NULL CHECK (scope IN ('district', 'station', 'zone')),
    target   text NOT NULL,                          -- '' for the district, else the station or zone id
    level    smallint NOT NULL CHECK (level BETWEEN 1 AND 4),   -- 1 = 一级 (I, red) … 4 = 四级 (IV, blue)
    reason   text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    set_by   text NOT NULL,
    set_at   timestamptz NOT NULL DEFAULT now(),
    until    timestamptz,                            -- reverts by itself then; NULL: until changed
    context  uuid,
    PRIMARY KEY (scope, target),
    CHECK ((scope = 'district') = (target = ''))
);

ALTER TABLE commands ADD COLUMN until timestamptz;   -- patrol: patrol there until this time
ALTER TABLE commands ADD COLUMN level smallint CHECK (level BETWEEN 1 AND 4);
CREATE INDEX commands_patrol_idx ON commands (unit, ts DESC) WHERE kind IN ('patrol', 'recall', 'dispatch');

CREATE TABLE level_suggestions (                     -- raised by the duty loop, decided by a commander
    id         bigserial PRIMARY KEY,
    ts         timestamptz NOT NULL DEFAULT now(),
    scope      text NOT NULL CHECK (scope IN ('station', 'zone')),
    target     text NOT NULL,
    station    text NOT NULL,
    current    smallint NOT NULL CHECK (current BETWEEN 1 AND 4),
    suggested  smallint NOT NULL CHECK (suggested BETWEEN 1 AND 4),
    why        text NOT NULL,
    detail     jsonb,
    decided    text CHECK (decided IN ('accepted', 'dismissed')),
    decided_by text,
    decided_at timestamptz
);
CREATE UNIQUE INDEX level_suggestions_open_idx ON level_suggestions (scope, target) WHERE decided IS NULL;

CREATE TABLE zone_shortage (                         -- since when each zone is below its minimum
    zone        text PRIMARY KEY REFERENCES zones(id) ON DELETE CASCADE,
    short_since timestamptz NOT NULL,
    need        integer NOT NULL,
    have        integer NOT NULL
);

CREATE TABLE presence_day (                          -- 见警率 and 勤务落实率 inputs, per local day and zone
    day               date NOT NULL,
    zone              text NOT NULL,
    station           text NOT NULL,
    minutes           integer NOT NULL,              -- minutes of the day measured
    met_minutes       integer NOT NULL,              -- minutes with the zone at or above its minimum
    required_unit_min double precision NOT NULL,     -- Σ over minutes of the minimum
    delivered_unit_min double precision NOT NULL,    -- Σ over minutes of min(units present, minimum)
    zone_hours        integer NOT NULL,              -- clock hours of the zone measured (its patrol area)
    zone_hours_seen   integer NOT NULL,              -- of them, with a counted unit inside at some fix
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, zone)
);
CREATE INDEX presence_day_station_idx ON presence_day (station, day);
