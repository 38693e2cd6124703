-- Meeting tasks (督办) created from a briefing: to a station (or the whole centre) and optionally an
-- officer, with a deadline; each later briefing shows them as done, overdue or open.
CREATE TABLE briefing_tasks (
    id          bigserial PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL,
    period      text NOT NULL,                       -- the briefing it came from, e.g. 2026-11-21
    station     text REFERENCES stations(id),        -- NULL: the whole centre
    officer     text CHECK (length(officer) <= 64),
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    deadline    timestamptz NOT NULL,
    done_at     timestamptz,
    done_by     text,
    result      text CHECK (length(result) <= 500),
    CHECK ((done_at IS NULL) = (done_by IS NULL))
);
CREATE INDEX briefing_tasks_open_idx ON briefing_tasks (deadline) WHERE done_at IS NULL;
CREATE INDEX briefing_tasks_created_idx ON briefing_tasks (created_at);
