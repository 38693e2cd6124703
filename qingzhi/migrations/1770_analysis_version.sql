-- A version of the analysis pre-aggregates: a counter in an_meta that every statement changing
-- an_incident moves on (the refresh changes an_incident in every batch, and recounts begin with a
-- TRUNCATE of it). The analysis page keeps its answers keyed on it (dashboard/analysis/cache.py):
-- the counter is read before the data, so an answer is never filed under a version newer than its
-- data. One row update per refresh statement, under the refresh's own advisory lock.

INSERT INTO an_meta (key, value) VALUES ('version', '0') ON CONFLICT (key) DO NOTHING;

CREATE FUNCTION an_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE an_meta SET value = (value::bigint + 1)::text WHERE key = 'version';
    RETURN NULL;
END $$;

CREATE TRIGGER an_incident_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON an_incident
    FOR EACH STATEMENT EXECUTE FUNCTION an_bump_version();
