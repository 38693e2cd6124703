-- Month roll-ups of the analysis pre-aggregates, so that a long period (a year, two years) reads
-- a few hundred thousand rows at most: whole months come from these tables, the days at either
-- end of the period from the day tables. Kept up to date by the same refresh (qingzhi.aggregate).
-- Cells are at resolution 9 (res 8 is its parent); resolution 10 is read from an_cell_day.

CREATE TABLE an_cell_month (
    month    date NOT NULL,                      -- first day of the local month
    cell9    bigint NOT NULL,
    station  text NOT NULL,
    type     text NOT NULL,
    priority smallint NOT NULL,
    cell8    bigint NOT NULL,
    category text NOT NULL,
    n        integer NOT NULL,
    PRIMARY KEY (month, cell9, station, type, priority)
);

CREATE TABLE an_how_month (
    month    date NOT NULL,
    how      smallint NOT NULL,
    station  text NOT NULL,
    type     text NOT NULL,
    priority smallint NOT NULL,
    category text NOT NULL,
    w        double precision NOT NULL,
    PRIMARY KEY (month, how, station, type, priority)
);

-- The same without the filter columns, for the usual question "everything in this period":
-- 2–3 times fewer rows for cells, a few thousand for hours of week over two years.
CREATE TABLE an_cell_month_all (
    month date NOT NULL,
    cell9 bigint NOT NULL,
    cell8 bigint NOT NULL,
    n     integer NOT NULL,
    PRIMARY KEY (month, cell9)
);

CREATE TABLE an_how_month_all (
    month date NOT NULL,
    how   smallint NOT NULL,
    w     double precision NOT NULL,
    PRIMARY KEY (month, how)
);

INSERT INTO an_cell_month
SELECT date_trunc('month', day)::date, cell9, station, type, priority, min(cell8), min(category), sum(n)
FROM an_cell_day GROUP BY 1, 2, 3, 4, 5;

INSERT INTO an_how_month
SELECT date_trunc('month', day)::date, how, station, type, priority, min(category), sum(w)
FROM an_how_day GROUP BY 1, 2, 3, 4, 5;

INSERT INTO an_cell_month_all
SELECT month, cell9, min(cell8), sum(n) FROM an_cell_month GROUP BY 1, 2;

INSERT INTO an_how_month_all
SELECT month, how, sum(w) FROM an_how_month GROUP BY 1, 2;

-- The non-zero aoristic weights of a windowed incident, sparse (hours, weights): a hotspot's
-- peak hours sum a handful of values per burglary instead of 168 (how_w stays for exact deltas).
ALTER TABLE an_incident ADD COLUMN how_i smallint[], ADD COLUMN how_v real[];
UPDATE an_incident a SET how_i = s.i, how_v = s.v
FROM (SELECT id, array_agg(i - 1 ORDER BY i)::smallint[] AS i, array_agg(w ORDER BY i) AS v
      FROM an_incident, unnest(how_w) WITH ORDINALITY AS u(w, i)
      WHERE how_w IS NOT NULL AND w > 0 GROUP BY id) s
WHERE a.id = s.id;

-- A hotspot's profile (types, stations, hours) reads only the index: no heap visits for its rows.
DROP INDEX an_incident_cell8_idx, an_incident_cell9_idx, an_incident_cell10_idx;
CREATE INDEX an_incident_cell8_idx ON an_incident (cell8, day) INCLUDE (type, station, category, priority, how, how_i, how_v);
CREATE INDEX an_incident_cell9_idx ON an_incident (cell9, day) INCLUDE (type, station, category, priority, how, how_i, how_v);
CREATE INDEX an_incident_cell10_idx ON an_incident (cell10, day) INCLUDE (type, station, category, priority, how, how_i, how_v);

ANALYZE an_cell_month;
ANALYZE an_how_month;
ANALYZE an_cell_month_all;
ANALYZE an_how_month_all;
