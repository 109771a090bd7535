-- Link rows copied from StatementRef targets (usage `target_*`) are few; these partial
-- indexes find them without reading an agent's or activity's own rows.
CREATE INDEX statement_agents_target ON statement_agents (store_id, ifi, seq)
    WHERE usage LIKE 'target\_%';
CREATE INDEX statement_activities_target ON statement_activities (store_id, activity_iri, seq)
    WHERE usage LIKE 'target\_%';
