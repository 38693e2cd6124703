-- Ingest hardening (issue 9): rejects keep a bounded, redacted prefix of each payload and its
-- full size; alerts learn `incident_changed` (time, place or type changed after assignment).

ALTER TABLE rejects ADD COLUMN size integer;
-- Rows from before: keep 4 KiB, redact callers' numbers (they were kept in clear), record the size.
UPDATE rejects SET size = length(payload),
    payload = substring(decode(regexp_replace(encode(payload, 'escape'),
                        '("(caller|subject)"\s*:\s*)("([^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*)', '\1"<redacted>"', 'g'),
                        'escape') FROM 1 FOR 4096);
ALTER TABLE rejects ALTER COLUMN size SET NOT NULL;
ALTER TABLE rejects ADD CONSTRAINT rejects_payload_bounded CHECK (length(payload) <= 4096);
