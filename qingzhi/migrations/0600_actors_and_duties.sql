-- Domain actions carry a context id: every audit entry and command row one action causes
-- shares it, so "what else did this do" has an answer. Old rows have none.
ALTER TABLE audit_log ADD COLUMN context uuid;
ALTER TABLE commands ADD COLUMN context uuid;
CREATE INDEX audit_log_context_idx ON audit_log (context) WHERE context IS NOT NULL;

-- The duty loop (`qingzhi worker`): the last result of each chore, for `qingzhi status`.
CREATE TABLE duty_runs (
    chore     text PRIMARY KEY,
    ran_at    timestamptz NOT NULL,
    took_ms   real NOT NULL,
    ok        boolean NOT NULL,
    result    text NOT NULL,
    instance  text NOT NULL,
    last_ok   timestamptz
);
