-- Dispatch and the closed loop: which units work which incident, an append-only audit log
-- of every dispatch action, feedback and review records, follow-up tasks for repeat
-- incidents, and the settings that decide when an incident is overdue.

-- Settings the command centre tunes without a restart (validated by dashboard/data/dispatch_config.py).
CREATE TABLE dispatch_settings (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text
);
INSERT INTO dispatch_settings (key, value) VALUES
    -- seconds from receipt: not assigned within / not on scene within -> overdue
    ('overdue', '{"1": {"assign_s": 60, "on_scene_s": 300}, "2": {"assign_s": 180, "on_scene_s": 900},
                  "3": {"assign_s": 600, "on_scene_s": 1800}, "4": {"assign_s": 1800, "on_scene_s": 3600}}'),
    ('ack_timeout_s', '30'),
    -- typical city speeds for the straight-line ETA
    ('speed_kmh', '{"car": 40, "ebike": 20, "foot": 5, "unknown": 15}'),
    ('repeat_caller', '{"calls": 3, "days": 30}'),
    ('repeat_place', '{"incidents": 5, "days": 30, "h3_res": 9}'),
    ('surge', '{"min_count": 5, "ratio": 2.0, "baseline_weeks": 8, "alpha": 0.01}');

-- One row per unit sent to an incident; several units per incident, released when done.
CREATE TABLE assignments (
    id             bigserial PRIMARY KEY,
    incident       text NOT NULL REFERENCES incidents(id),
    unit           text NOT NULL,
    command        uuid REFERENCES commands(id),
    assigned_at    timestamptz NOT NULL DEFAULT now(),
    assigned_by    text NOT NULL,
    released_at    timestamptz,
    released_by    text,
    release_reason text,
    CHECK (released_at IS NULL OR released_at >= assigned_at)
);
CREATE UNIQUE INDEX assignments_active_uq ON assignments (incident, unit) WHERE released_at IS NULL;
CREATE INDEX assignments_unit_active_idx ON assignments (unit) WHERE released_at IS NULL;

-- Who did what, when, from which screen. Rows are only ever added.
CREATE TABLE audit_log (
    id        bigserial PRIMARY KEY,
    ts        timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor     text NOT NULL,
    action    text NOT NULL,
    incident  text,
    unit      text,
    screen    text,
    details   jsonb
);
CREATE INDEX audit_log_ts_idx ON audit_log (ts DESC);
CREATE INDEX audit_log_incident_idx ON audit_log (incident) WHERE incident IS NOT NULL;

CREATE FUNCTION qz_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION qz_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION qz_audit_append_only();

-- The feedback (反馈) and review (评价) steps of an incident: who, what result, satisfaction.
CREATE TABLE incident_reviews (
    id           bigserial PRIMARY KEY,
    incident     text NOT NULL REFERENCES incidents(id),
    step         text NOT NULL CHECK (step IN ('feedback', 'review')),
    ts           timestamptz NOT NULL DEFAULT now(),
    by_whom      text NOT NULL,
    result       text NOT NULL CHECK (length(result) BETWEEN 1 AND 200),
    satisfaction smallint CHECK (satisfaction BETWEEN 1 AND 5),
    note         text,
    UNIQUE (incident, step)
);

-- Repeat-incident follow-up (警源治理): a flag handed to a community officer, with its own loop
-- open -> assigned -> done -> reviewed. The flag is copied in, as it was when the task was made.
CREATE TABLE followups (
    id           bigserial PRIMARY KEY,
    flag_kind    text NOT NULL CHECK (flag_kind IN ('caller', 'place', 'surge')),
    flag_key     text NOT NULL,
    title        text NOT NULL,
    incidents    text[] NOT NULL,
    station      text,
    state        text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'assigned', 'done', 'reviewed')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL,
    officer      text,
    assigned_at  timestamptz,
    done_at      timestamptz,
    result       text,
    reviewed_at  timestamptz,
    reviewed_by  text,
    satisfaction smallint CHECK (satisfaction BETWEEN 1 AND 5),
    CHECK (state = 'open' OR (officer IS NOT NULL AND assigned_at IS NOT NULL)),
    CHECK (state NOT IN ('done', 'reviewed') OR done_at IS NOT NULL),
    CHECK (state <> 'reviewed' OR reviewed_at IS NOT NULL)
);
-- one live task per flag; a reviewed one may be followed by a new task if the flag returns
CREATE UNIQUE INDEX followups_live_flag_uq ON followups (flag_kind, flag_key) WHERE state <> 'reviewed';

CREATE INDEX incidents_state_idx ON incidents (state, ts);
CREATE INDEX incidents_merged_idx ON incidents (merged_into) WHERE merged_into IS NOT NULL;
