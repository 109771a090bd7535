-- The link tables' `(store_id, seq)` indexes keep only the rows the warehouse ETL reads by
-- `seq` range: those silver_statement does not hold itself (warehouse::schema's
-- DERIVED_ACTIVITY_USAGES and DERIVED_AGENT_USAGES; the ETL's query repeats the same list, so
-- the planner uses these indexes). Nothing else reads link rows by `seq`: a StatementRef's
-- target's links are computed from the target's statement (store::statements::link_targets),
-- and the query filters find link rows by IFI or IRI. Under batch ingest most link rows are
-- an actor, an authority, an object or a parent: of the ingest benchmark's six link rows per
-- statement, two stay in these indexes instead of six. A COPY of the benchmark's link rows
-- for 95,500 statements took 2.91–3.44 s of PostgreSQL CPU (median 3.07) with these indexes
-- against 3.12–4.31 s (median 3.25) with the full ones, five alternated runs each (issue 7).
DROP INDEX statement_agents_seq;
CREATE INDEX statement_agents_seq ON statement_agents (store_id, seq)
    WHERE usage NOT IN ('actor', 'object', 'authority');
DROP INDEX statement_activities_seq;
CREATE INDEX statement_activities_seq ON statement_activities (store_id, seq)
    WHERE usage NOT IN ('object', 'parent');
