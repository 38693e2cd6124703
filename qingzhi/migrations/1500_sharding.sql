-- Scale-out of the position history across PostgreSQL servers with postgres_fdw (issue 15;
-- README "Scale-out"). Nothing here runs by itself: an operator calls these functions on the
-- coordinator (the database the ingest and the dashboard use) once the shards exist.
--
-- A day partition of `positions` becomes PARTITION BY HASH (unit), each hash partition a
-- foreign table on one shard server (its `positions` table: every shard runs these same
-- migrations, so it has the same day partitions and the (unit, ts) primary key). The ingest's
-- set-based INSERT … SELECT … ON CONFLICT DO NOTHING is routed by the coordinator and the
-- conflict clause is sent on: each shard's primary key absorbs redeliveries.

-- Foreign partitions are refused under a parent with a unique index, so the coordinator's
-- primary key moves from the parent to each of its local day partitions (same guarantee for
-- the days kept locally; sharded days have theirs on the shards).
CREATE FUNCTION qz_prepare_positions_sharding() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'positions_pkey' AND conrelid = 'positions'::regclass) THEN
        RETURN 0;
    END IF;
    ALTER TABLE positions DROP CONSTRAINT positions_pkey;
    FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'positions'::regclass AND c.relkind = 'r' LOOP
        EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (unit, ts)', r.relname);
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- Make `day`'s partition of positions hash-partitioned by unit over `servers` (postgres_fdw
-- server names, in a fixed order: the order decides which units live where, so it never
-- changes for a day once written). An existing empty local partition of that day is replaced;
-- one with rows is refused (moving rows between servers is not done here).
CREATE FUNCTION qz_shard_positions_day(day date, servers text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    part text := format('positions_p%s', to_char(day, 'YYYYMMDD'));
    n integer := cardinality(servers);
    has_rows boolean;
BEGIN
    IF n IS NULL OR n < 1 THEN
        RAISE EXCEPTION 'qz_shard_positions_day: no servers given';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'positions_pkey' AND conrelid = 'positions'::regclass) THEN
        RAISE EXCEPTION 'run SELECT qz_prepare_positions_sharding() first (foreign partitions need the key on the shards)';
    END IF;
    IF to_regclass(part) IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', part) INTO has_rows;
        IF has_rows THEN
            RAISE EXCEPTION 'partition % has rows: it stays where it is', part;
        END IF;
        EXECUTE format('DROP TABLE %I', part);
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF positions FOR VALUES FROM (%L) TO (%L) PARTITION BY HASH (unit)',
                   part, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
    FOR k IN 1..n LOOP
        EXECUTE format('CREATE FOREIGN TABLE %I PARTITION OF %I FOR VALUES WITH (MODULUS %s, REMAINDER %s) '
                       'SERVER %I OPTIONS (table_name %L)', part || '_h' || (k - 1), part, n, k - 1, servers[k],
                       'positions');
    END LOOP;
END $$;
