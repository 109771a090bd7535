-- The query filters' text keys (verb IRI, agent IFI, activity IRI) are indexed by a 64-bit
-- hash of the key (`hashtextextended(key, 0)`, the function PostgreSQL's hash partitioning
-- uses, stable across versions) instead of by the key itself. The filters compare the hash
-- through the index and then the key itself on the row (store::statement_queries), so two
-- keys that share a hash still never match each other. The B-tree then compares integers
-- instead of IRIs under the database's collation (PostgreSQL 15 compares `C.UTF-8` text with
-- `strcoll`), and its entries are 24 bytes of key instead of the IRI's length: an
-- `INSERT … SELECT` of 600,000 activity link rows built an index of 30 MB instead of 78 MB
-- (issue 7, README *Ingest*). The link rows were already read from the table for their `usage`,
-- so the filters read no more rows than before.
--
-- Each index build scans its table once under a SHARE lock (writes wait; reads continue). On
-- a very large store, create the new indexes CONCURRENTLY by hand before upgrading; the
-- `IF NOT EXISTS` below then skips them.
CREATE INDEX IF NOT EXISTS statements_verb_hash
    ON statements (store_id, hashtextextended(verb_iri, 0), seq);
DROP INDEX IF EXISTS statements_verb;
CREATE INDEX IF NOT EXISTS statements_target_verb_hash
    ON statements (store_id, hashtextextended(target_verb, 0), seq)
    WHERE target_verb IS NOT NULL;
DROP INDEX IF EXISTS statements_target_verb;

CREATE INDEX IF NOT EXISTS statement_agents_ifi_hash
    ON statement_agents (store_id, hashtextextended(ifi, 0), seq);
DROP INDEX IF EXISTS statement_agents_ifi;
CREATE INDEX IF NOT EXISTS statement_agents_target_hash
    ON statement_agents (store_id, hashtextextended(ifi, 0), seq)
    WHERE usage LIKE 'target\_%';
DROP INDEX IF EXISTS statement_agents_target;

CREATE INDEX IF NOT EXISTS statement_activities_iri_hash
    ON statement_activities (store_id, hashtextextended(activity_iri, 0), seq);
DROP INDEX IF EXISTS statement_activities_iri;
CREATE INDEX IF NOT EXISTS statement_activities_target_hash
    ON statement_activities (store_id, hashtextextended(activity_iri, 0), seq)
    WHERE usage LIKE 'target\_%';
DROP INDEX IF EXISTS statement_activities_target;
