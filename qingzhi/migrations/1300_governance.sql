-- Repeat-call governance (警源治理) closed to the end, diversion, community grids and search.
-- Follow-up tasks take the loop 交办 → 核查 → 处置 → 反馈 → 评价 → 问效 (assigned, verified, handled,
-- reported, rated, then closed / reopened / escalated by the effect check), each step a row of
-- followup_steps; an incident may be closed as diverted to another agency; stations load their
-- community grids; search gets the indexes it needs over all history.

-- Follow-up states: the old 'done' is now 'handled', the old 'reviewed' is 'closed'.
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'followups'::regclass AND contype = 'c' LOOP
        EXECUTE format('ALTER TABLE followups DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;
DROP INDEX followups_live_flag_uq;
UPDATE followups SET state = CASE state WHEN 'done' THEN 'handled' WHEN 'reviewed' THEN 'closed' ELSE state END;
ALTER TABLE followups
    ADD COLUMN subject     text,                  -- what the effect check counts: caller hash, H3 cell, station:type
    ADD COLUMN lat         double precision,      -- where the flag is (the grid it falls in gives the officer)
    ADD COLUMN lon         double precision,
    ADD COLUMN reason      jsonb,                 -- the flag's reason ({"zh", "en"}), as it was when the task was made
    ADD COLUMN grid        text,
    ADD COLUMN grid_worker text,
    ADD COLUMN unit        text,                  -- the officer's device the task slip went to
    ADD COLUMN step_at     timestamptz NOT NULL DEFAULT now(),  -- when the current step began
    ADD COLUMN due_at      timestamptz,           -- deadline of the current step
    ADD COLUMN check_at    timestamptz,           -- when the effect check is due (once rated)
    ADD COLUMN effective   boolean,               -- the effect check's verdict
    ADD COLUMN reopened    integer NOT NULL DEFAULT 0,
    ADD COLUMN closed_at   timestamptz,
    ADD CONSTRAINT followups_state_check CHECK (state IN
        ('open', 'assigned', 'verified', 'handled', 'reported', 'rated', 'closed', 'escalated')),
    ADD CONSTRAINT followups_assigned_check CHECK (state = 'open' OR (officer IS NOT NULL AND assigned_at IS NOT NULL)),
    ADD CONSTRAINT followups_satisfaction_check CHECK (satisfaction BETWEEN 1 AND 5);
CREATE UNIQUE INDEX followups_live_flag_uq ON followups (flag_kind, flag_key) WHERE state <> 'closed';
CREATE INDEX followups_incidents_idx ON followups USING gin (incidents);
CREATE INDEX followups_due_idx ON followups (due_at) WHERE state NOT IN ('closed', 'rated');
CREATE INDEX followups_check_idx ON followups (check_at) WHERE state = 'rated';

-- Every step of every task: who, when, what was found / done / said, the rating, the slip's command.
CREATE TABLE followup_steps (
    id        bigserial PRIMARY KEY,
    task      bigint NOT NULL REFERENCES followups(id),
    step      text NOT NULL,
    ts        timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor     text NOT NULL,
    text      text,
    rating    smallint CHECK (rating BETWEEN 1 AND 5),
    due_at    timestamptz,
    late      boolean NOT NULL DEFAULT false,
    command   uuid,
    details   jsonb
);
CREATE INDEX followup_steps_task_idx ON followup_steps (task, id);

-- The task slip (警单) a `message` command carries (PROTOCOL.md `task`).
ALTER TABLE commands ADD COLUMN task bigint;
CREATE INDEX commands_task_idx ON commands (task) WHERE task IS NOT NULL;

-- Diversion (非警务事项分流转办): a terminal state, with the agency and the reason.
ALTER TABLE incidents DROP CONSTRAINT incidents_state_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_state_check CHECK (state IN
    ('received', 'assigned', 'en_route', 'on_scene', 'handled', 'feedback', 'closed', 'cancelled', 'merged', 'diverted'));
ALTER TABLE incidents
    ADD COLUMN diverted_at   timestamptz,
    ADD COLUMN diverted_to   text,
    ADD COLUMN divert_reason text;
CREATE INDEX incidents_diverted_idx ON incidents (diverted_at) WHERE diverted_at IS NOT NULL;

-- Community grids (一居一警, 网格): a station's community areas with their responsible officer.
CREATE TABLE grids (
    id          text PRIMARY KEY,
    station     text NOT NULL REFERENCES stations(id),
    name        text NOT NULL,
    boundary    jsonb NOT NULL,                 -- GeoJSON Polygon or MultiPolygon
    officer     text NOT NULL,                  -- the community officer (社区民警)
    unit        text,                           -- the officer's device (call sign), for task slips
    grid_worker text,                           -- the grid worker (网格员)
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    loaded_by   text NOT NULL
);
CREATE INDEX grids_station_idx ON grids (station);

-- Search over all history: address text (trigram), type, caller, unit, station with time.
-- pg_trgm is in PostgreSQL's contrib (a trusted extension); where it is missing (the demo's embedded
-- PostgreSQL) or may not be created, address search still works, by reading the table.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        EXECUTE 'CREATE EXTENSION IF NOT EXISTS pg_trgm';
        EXECUTE 'CREATE INDEX incidents_address_trgm_idx ON incidents USING gin (address gin_trgm_ops)';
    ELSE
        RAISE NOTICE 'pg_trgm is not available: address search will read the table';
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_trgm may not be created here: address search will read the table';
END $$;
CREATE INDEX incidents_type_ts_idx ON incidents (type, ts);
CREATE INDEX incidents_category_ts_idx ON incidents (category, ts);
CREATE INDEX assignments_unit_idx ON assignments (unit, assigned_at);
CREATE INDEX assignments_incident_idx ON assignments (incident);
CREATE INDEX statuses_incident_idx ON statuses (incident, ts) WHERE incident IS NOT NULL;

-- Repeat flags relative to baselines (the old fixed counts flagged nearly every call), the loop's
-- step deadlines and effect check, and the agencies a call may be diverted to.
UPDATE dispatch_settings SET value = '{"calls": 3, "days": 30, "baseline_days": 180, "ratio": 2.0, "alpha": 0.01}'
    WHERE key = 'repeat_caller' AND value = '{"calls": 3, "days": 30}'::jsonb;
UPDATE dispatch_settings SET value = '{"incidents": 4, "days": 14, "h3_res": 10, "baseline_days": 84, "ratio": 3.0, "alpha": 0.01}'
    WHERE key = 'repeat_place' AND value = '{"incidents": 5, "days": 30, "h3_res": 9}'::jsonb;
