-- The statement body is kept as `json` (its text, exactly as Cairn serialized it) rather than
-- `jsonb`. No query looks inside it — filters use the columns and link tables — so `jsonb`'s
-- parsed form only cost CPU: building it on every insert and printing it back as text for
-- every statement read by the API and by the warehouse ETL (issues 5 and 7 measured both).
-- This rewrites the table once.
ALTER TABLE statements ALTER COLUMN statement TYPE json USING statement::json;
