-- Stop-and-checks (盘查, PROTOCOL.md `…/check`): where and when a unit checked a person or vehicle and
-- whether it was a hit (抓获/查获). The subject (ID-card or plate number) is kept only as a keyed hash.

CREATE TABLE checks (
    id            text PRIMARY KEY,                  -- the device's id: a repeat is one check
    unit          text NOT NULL,
    station       text NOT NULL,
    ts            timestamptz NOT NULL,
    recv_ts       timestamptz NOT NULL,
    lat           double precision NOT NULL,
    lon           double precision NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('person', 'vehicle')),
    hit           boolean NOT NULL,
    subject_hash  text,
    note          text,
    extra         jsonb
);
CREATE INDEX checks_station_ts_idx ON checks (station, ts);
CREATE INDEX checks_unit_ts_idx ON checks (unit, ts);
