-- Pre-aggregates for the "three highs" analysis page (/analysis).
--
-- PostgreSQL here has no h3 extension, so H3 cells cannot be computed in SQL. Instead:
--   1. A trigger on `incidents` records the id of every inserted, changed or deleted incident
--      in `an_dirty` (plain SQL, cheap, and it sees every writer: ingest, import, form, simulator,
--      late-committing transactions and deletes alike — unlike an updated_at watermark).
--   2. `qingzhi.aggregate.refresh()` (Python: h3, time zone, aoristic spreading) takes the dirty
--      ids, compares each incident with the contribution it made before (`an_incident`), and
--      applies only the difference to the aggregate tables, in one transaction.
--      It runs after every import, before every analysis page query (so the page is never
--      behind), and from the benchmark after its bulk load.
-- The page's queries read only the an_* tables, never raw incidents.
-- Local days and hours are in the time zone recorded in an_meta; a change rebuilds everything.

CREATE TABLE an_dirty (
    id text PRIMARY KEY
);

CREATE FUNCTION an_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO an_dirty (id) VALUES (OLD.id) ON CONFLICT DO NOTHING;
        RETURN OLD;
    END IF;
    INSERT INTO an_dirty (id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;

CREATE TRIGGER incidents_an_insert AFTER INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION an_mark_dirty();
-- Only the columns the analysis uses; lifecycle steps (assigned_at, …) do not dirty a row.
CREATE TRIGGER incidents_an_update AFTER UPDATE OF ts, occurred_from, occurred_to, lat, lon, type, category,
    priority, station, state ON incidents
    FOR EACH ROW EXECUTE FUNCTION an_mark_dirty();
CREATE TRIGGER incidents_an_delete AFTER DELETE ON incidents
    FOR EACH ROW EXECUTE FUNCTION an_mark_dirty();

CREATE TABLE an_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- What each counted incident contributes (so a change can be subtracted exactly).
-- how = local hour of week (Monday 00:00 = 0 … Sunday 23:00 = 167) of a point incident;
-- how_w = 168 aoristic weights (sum 1) of an incident known only within a time window.
CREATE TABLE an_incident (
    id       text PRIMARY KEY,
    day      date NOT NULL,                  -- local date of ts
    cell8    bigint NOT NULL,                -- H3 cells (as integers) at resolutions 8, 9, 10
    cell9    bigint NOT NULL,
    cell10   bigint NOT NULL,
    station  text NOT NULL,                  -- '' when unknown
    type     text NOT NULL,
    category text NOT NULL,
    priority smallint NOT NULL,
    how      smallint,
    how_w    real[]
);
CREATE INDEX an_incident_cell8_idx ON an_incident (cell8, day);
CREATE INDEX an_incident_cell9_idx ON an_incident (cell9, day);
CREATE INDEX an_incident_cell10_idx ON an_incident (cell10, day);

-- Counts per local day × H3 cell × station × type × priority: hotspot map, top-N, PAI.
CREATE TABLE an_cell_day (
    day      date NOT NULL,
    cell10   bigint NOT NULL,
    station  text NOT NULL,
    type     text NOT NULL,
    priority smallint NOT NULL,
    cell9    bigint NOT NULL,
    cell8    bigint NOT NULL,
    category text NOT NULL,
    n        integer NOT NULL,
    PRIMARY KEY (day, cell10, station, type, priority)
);

-- Aoristic weights per local day × hour of week × station × type × priority: the 7×24 heat map.
CREATE TABLE an_how_day (
    day      date NOT NULL,
    how      smallint NOT NULL,
    station  text NOT NULL,
    type     text NOT NULL,
    priority smallint NOT NULL,
    category text NOT NULL,
    w        double precision NOT NULL,
    PRIMARY KEY (day, how, station, type, priority)
);

-- Counts per local day × station × type × priority: the frequent-types ranking.
CREATE TABLE an_type_day (
    day      date NOT NULL,
    station  text NOT NULL,
    type     text NOT NULL,
    priority smallint NOT NULL,
    category text NOT NULL,
    n        integer NOT NULL,
    PRIMARY KEY (day, station, type, priority)
);

-- Incidents already in the database when this migration runs are counted at the first refresh.
INSERT INTO an_dirty (id) SELECT id FROM incidents;
