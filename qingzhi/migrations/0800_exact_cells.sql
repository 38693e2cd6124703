-- Exact H3 cells at every resolution, set-based dirty marking, shared aoristic windows.
--
-- 1. Cells: an incident's resolution-8 and -9 cells are computed from its coordinates like its
--    resolution-10 cell, not taken as the parent of it (H3 cells do not nest exactly: about 7 % of
--    incidents lie outside the res-9 parent of their res-10 cell). So cell9 and cell8 are no longer
--    functions of cell10 (nor cell8 of cell9) and join the keys of the cell tables.
-- 2. Triggers: one per statement, with transition tables, instead of one per row, so that a
--    million-row import marks its incidents dirty in one INSERT … SELECT. An update marks only the
--    rows whose analysed columns changed (lifecycle steps do not).
-- 3. Windows: an incident known only within a time window used to carry its 168 aoristic weights
--    (three arrays per incident: ~2 KB for a police.uk month). The weights depend only on the
--    window's local start and end, which many incidents share (every police.uk crime of a month),
--    so each distinct window's weights are stored once in an_window and incidents refer to it.
-- Everything is recounted at the next refresh (the old cells were parents, so the counts are wrong).

DROP TRIGGER incidents_an_insert ON incidents;
DROP TRIGGER incidents_an_update ON incidents;
DROP TRIGGER incidents_an_delete ON incidents;
DROP FUNCTION an_mark_dirty();

CREATE FUNCTION an_mark_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO an_dirty (id) SELECT id FROM new_rows ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION an_mark_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO an_dirty (id) SELECT id FROM old_rows ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

-- Changed analysed columns, or a changed id (then both the old and the new id).
CREATE FUNCTION an_mark_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO an_dirty (id)
    SELECT n.id FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
    WHERE o.id IS NULL
       OR (n.ts, n.occurred_from, n.occurred_to, n.lat, n.lon, n.type, n.category, n.priority, n.station, n.state)
          IS DISTINCT FROM
          (o.ts, o.occurred_from, o.occurred_to, o.lat, o.lon, o.type, o.category, o.priority, o.station, o.state)
    UNION
    SELECT o.id FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER incidents_an_insert AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION an_mark_inserted();
CREATE TRIGGER incidents_an_update AFTER UPDATE ON incidents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION an_mark_updated();
CREATE TRIGGER incidents_an_delete AFTER DELETE ON incidents
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION an_mark_deleted();

TRUNCATE an_incident, an_cell_day, an_how_day, an_type_day, an_cell_month, an_how_month, an_cell_month_all,
    an_how_month_all;

ALTER TABLE an_cell_day DROP CONSTRAINT an_cell_day_pkey,
    ADD PRIMARY KEY (day, cell10, cell9, cell8, station, type, priority);
ALTER TABLE an_cell_month DROP CONSTRAINT an_cell_month_pkey,
    ADD PRIMARY KEY (month, cell9, cell8, station, type, priority);
ALTER TABLE an_cell_month_all DROP CONSTRAINT an_cell_month_all_pkey, ADD PRIMARY KEY (month, cell9, cell8);

-- Each distinct window's non-zero aoristic weights (local wall-clock start and end; sum 1).
CREATE TABLE an_window (
    w_from timestamp NOT NULL,
    w_to   timestamp NOT NULL,
    how    smallint[] NOT NULL,
    w      double precision[] NOT NULL,
    PRIMARY KEY (w_from, w_to)
);

-- Dropping the weight columns drops the covering indexes that include them. One covering index
-- on the res-10 cell replaces the three: a res-9 or res-8 cell's incidents are found among the
-- res-10 children of that cell and its neighbours (dashboard/data/analysis.py), and each index
-- costs ~1 s per 200,000 incidents refreshed. The id index is a hash index: the refresh looks ids
-- up only for equality, and a B-tree over 64-character random ids (police.uk) costs as much again.
ALTER TABLE an_incident DROP COLUMN how_w, DROP COLUMN how_i, DROP COLUMN how_v,
    ADD COLUMN w_from timestamp, ADD COLUMN w_to timestamp;
ALTER TABLE an_incident DROP CONSTRAINT an_incident_pkey;
CREATE INDEX an_incident_id_idx ON an_incident USING hash (id);
CREATE INDEX an_incident_cell_idx ON an_incident (cell10, day)
    INCLUDE (cell9, cell8, type, station, category, priority, how, w_from, w_to);

INSERT INTO an_dirty (id) SELECT id FROM incidents ON CONFLICT DO NOTHING;
