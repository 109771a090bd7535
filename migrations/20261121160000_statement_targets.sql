-- Communication §2.1.4: a statement whose object is a StatementRef matches a query when the
-- statement it targets matches the filters. To serve those matches from indexes, each
-- referring statement carries its target's verb and registration, and its target's agents
-- and activities as link rows with a `target_` usage. They are filled when the referring
-- statement is stored, or later when its target arrives.
ALTER TABLE statements
    ADD COLUMN target_verb text,
    ADD COLUMN target_registration uuid;
CREATE INDEX statements_target_verb ON statements (store_id, target_verb, seq)
    WHERE target_verb IS NOT NULL;
CREATE INDEX statements_target_registration ON statements (store_id, target_registration, seq)
    WHERE target_registration IS NOT NULL;

-- `stored` increases with `seq` (both are assigned in one serialized step), so time bounds
-- translate into sequence bounds through this index.
DROP INDEX statements_stored;
CREATE INDEX statements_stored ON statements (store_id, stored, seq);

ALTER TABLE statement_agents DROP CONSTRAINT statement_agents_usage_check;
ALTER TABLE statement_agents ADD CONSTRAINT statement_agents_usage_check CHECK (
    regexp_replace(usage, '^target_', '') IN (
        'actor', 'object', 'authority', 'instructor', 'team', 'member',
        'context_agent', 'context_group',
        'sub_actor', 'sub_object', 'sub_instructor', 'sub_team', 'sub_member',
        'sub_context_agent', 'sub_context_group'));
ALTER TABLE statement_activities DROP CONSTRAINT statement_activities_usage_check;
ALTER TABLE statement_activities ADD CONSTRAINT statement_activities_usage_check CHECK (
    regexp_replace(usage, '^target_', '') IN (
        'object', 'parent', 'grouping', 'category', 'other',
        'sub_object', 'sub_parent', 'sub_grouping', 'sub_category', 'sub_other'));

-- Statements stored before this migration.
UPDATE statements r
SET target_verb = t.verb_iri, target_registration = t.registration
FROM statements t
WHERE r.statement_ref IS NOT NULL AND t.store_id = r.store_id AND t.statement_id = r.statement_ref;
INSERT INTO statement_agents (store_id, seq, usage, ifi)
SELECT r.store_id, r.seq, 'target_' || a.usage, a.ifi
FROM statements r
JOIN statements t ON t.store_id = r.store_id AND t.statement_id = r.statement_ref
JOIN statement_agents a ON a.store_id = t.store_id AND a.seq = t.seq
WHERE r.statement_ref IS NOT NULL;
INSERT INTO statement_activities (store_id, seq, usage, activity_iri)
SELECT r.store_id, r.seq, 'target_' || a.usage, a.activity_iri
FROM statements r
JOIN statements t ON t.store_id = r.store_id AND t.statement_id = r.statement_ref
JOIN statement_activities a ON a.store_id = t.store_id AND a.seq = t.seq
WHERE r.statement_ref IS NOT NULL;
