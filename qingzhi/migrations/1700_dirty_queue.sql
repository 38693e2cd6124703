-- The queue of incidents to fold into the analysis pre-aggregates (an_dirty) without a key.
--
-- With a primary key, every queued id was a B-tree insert under ON CONFLICT: a million-row
-- police.uk import (64-character random ids) spent ~4.5 s in the insert trigger alone. The queue
-- is only ever drained whole-rows-at-a-time by qingzhi.aggregate.refresh (which takes the
-- distinct ids of each batch), never looked up by id, so it needs no index: an id queued twice
-- is folded once per batch it lands in, which is harmless (folding is idempotent).

ALTER TABLE an_dirty DROP CONSTRAINT an_dirty_pkey;

CREATE OR REPLACE FUNCTION an_mark_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO an_dirty (id) SELECT id FROM new_rows;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION an_mark_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO an_dirty (id) SELECT id FROM old_rows;
    RETURN NULL;
END $$;

-- Changed analysed columns, or a changed id (then both the old and the new id).
CREATE OR REPLACE FUNCTION an_mark_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO an_dirty (id)
    SELECT n.id FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
    WHERE o.id IS NULL
       OR (n.ts, n.occurred_from, n.occurred_to, n.lat, n.lon, n.type, n.category, n.priority, n.station, n.state)
          IS DISTINCT FROM
          (o.ts, o.occurred_from, o.occurred_to, o.lat, o.lon, o.type, o.category, o.priority, o.station, o.state)
    UNION
    SELECT o.id FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id);
    RETURN NULL;
END $$;
