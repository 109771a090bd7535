-- Rows that Cairn writes for its clients no longer reference `stores` with a foreign key.
-- Each key was checked for every row by a trigger (`SELECT … FROM stores … FOR KEY SHARE`),
-- which locked the one `stores` row from every concurrent writing transaction. The value is
-- never request input: it is the authenticated credential's `store_id`, which `credentials`
-- keeps under the same foreign key, and no code deletes stores. A COPY of 100,000 statement
-- rows from the ingest benchmark took 1.54–1.74 s of PostgreSQL CPU without the key against
-- 2.23–2.40 s with it; under batch ingest the checks on statements took 17 % of PostgreSQL's
-- CPU, and those on new activities and agent names 5 % (issue 7).
ALTER TABLE statements DROP CONSTRAINT IF EXISTS statements_store_id_fkey;
ALTER TABLE activities DROP CONSTRAINT IF EXISTS activities_store_id_fkey;
ALTER TABLE agent_names DROP CONSTRAINT IF EXISTS agent_names_store_id_fkey;
ALTER TABLE documents DROP CONSTRAINT IF EXISTS documents_store_id_fkey;
ALTER TABLE attachments DROP CONSTRAINT IF EXISTS attachments_store_id_fkey;
