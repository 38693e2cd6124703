-- The ingest's batch that wrote each reject row. Every other row the ingest writes has a natural
-- key (ON CONFLICT absorbs a batch written twice); a reject row has none. When the answer to a
-- batch's COMMIT is lost on the wire, the writer cannot tell whether the batch landed: it now
-- asks whether its batch id is here before writing the batch again (ingest/writer.py), so its
-- rejects are not stored twice. The id goes away with the rejects it belongs to (prune_rejects).
ALTER TABLE rejects ADD COLUMN batch uuid;
CREATE INDEX rejects_batch_idx ON rejects (batch) WHERE batch IS NOT NULL;
