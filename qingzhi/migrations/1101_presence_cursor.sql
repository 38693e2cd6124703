-- How far the duty loop has folded position history into presence_day (whole clock hours).
CREATE TABLE presence_cursor (
    id    boolean PRIMARY KEY DEFAULT true CHECK (id),   -- one row
    upto  timestamptz NOT NULL
);
