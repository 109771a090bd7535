-- The warehouse ETL's exactly-once bound (src/warehouse/mod.rs): each statement row records the
-- 64-bit id of the transaction that inserted it. Rows inserted before this migration keep NULL
-- (they are all committed by now; the first ETL run takes them).
-- ADD COLUMN without a default and SET DEFAULT do not rewrite the table. The index build scans
-- it once under a SHARE lock (writes wait; reads continue) — on a very large store, create
-- `statements_insert_xid` CONCURRENTLY by hand before upgrading and this becomes a no-op.
ALTER TABLE statements ADD COLUMN insert_xid bigint;
ALTER TABLE statements ALTER COLUMN insert_xid SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX IF NOT EXISTS statements_insert_xid ON statements (insert_xid, seq);
