-- Once positions' key has moved to its day partitions for sharding (qz_prepare_positions_sharding,
-- migration 1500), a day made locally afterwards had no key: a day the duty loop could not shard
-- (it already held rows) or any day after the shard list is emptied again would have stored a
-- redelivered fix twice (ON CONFLICT DO NOTHING needs a key to find the conflict). Each new local
-- day of positions now gets the (unit, ts) key itself when its parent has none.
CREATE OR REPLACE FUNCTION qz_ensure_partitions(tbl text, from_day date, to_day date) RETURNS integer
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
            IF tbl = 'positions' AND NOT EXISTS (SELECT 1 FROM pg_constraint
                                                 WHERE conrelid = 'positions'::regclass AND contype = 'p') THEN
                EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (unit, ts)', part);
            END IF;
            made := made + 1;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN made;
END $$;
