-- The queue of incidents to fold into the analysis pre-aggregates (an_dirty) without a key.
--
-- With a primary key, every queued id was a B-tree insert: a million-row police.uk import
-- (64-character random ids) spent ~4.5 s in the statement trigger alone. The queue is only ever
-- drained in batches by qingzhi.aggregate.refresh, which takes the distinct ids of each batch; it
-- is never looked up by id, so it needs no index. An id queued twice is folded once per batch it
-- lands in, which is harmless (folding is idempotent). The triggers' ON CONFLICT DO NOTHING
-- (migration 0800) now never fires and costs nothing.

ALTER TABLE an_dirty DROP CONSTRAINT an_dirty_pkey;
