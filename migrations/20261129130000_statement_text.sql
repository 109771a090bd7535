-- The statement body becomes `text`: the exact JSON text Cairn serialized (xapi::json_text).
-- As `json`, PostgreSQL ran its JSON lexer over every body on insert only to check text that
-- Cairn had just written from a parsed statement (`json_lex` was 1.9 % of the whole machine's
-- CPU under batch ingest, issue 7). A COPY of 100,000 statement rows from the ingest benchmark
-- took 2.04–2.29 s of PostgreSQL CPU into `json` against 1.50–1.90 s into `text`. Nothing
-- looks inside the body in SQL; readers parse it in Cairn, as they did the `json` text.
-- This rewrites the table once.
ALTER TABLE statements ALTER COLUMN statement TYPE text;
