-- The link tables' usage checks list every allowed value instead of stripping a `target_`
-- prefix with a regular expression (migration 20261121160000) and comparing the rest: the
-- same set of values, without running a regular expression for every link row written (a
-- statement has about six). A COPY of 600,000 activity link rows (random IRIs, with the IRI
-- index) took a median 6.41 s of backend CPU with the regular expression and 5.99 s with the
-- list, five alternated runs each (issue 7).
--
-- NOT VALID: the rows already stored passed the former check, which allows exactly these
-- values, so there is nothing to validate, and validating would read both tables whole while
-- holding their locks. New rows are checked as before.
ALTER TABLE statement_agents DROP CONSTRAINT statement_agents_usage_check;
ALTER TABLE statement_agents ADD CONSTRAINT statement_agents_usage_check CHECK (usage IN (
    'actor', 'object', 'authority', 'instructor', 'team', 'member',
    'context_agent', 'context_group',
    'sub_actor', 'sub_object', 'sub_instructor', 'sub_team', 'sub_member',
    'sub_context_agent', 'sub_context_group',
    'target_actor', 'target_object', 'target_authority', 'target_instructor', 'target_team',
    'target_member', 'target_context_agent', 'target_context_group',
    'target_sub_actor', 'target_sub_object', 'target_sub_instructor', 'target_sub_team',
    'target_sub_member', 'target_sub_context_agent', 'target_sub_context_group'))
    NOT VALID;
ALTER TABLE statement_activities DROP CONSTRAINT statement_activities_usage_check;
ALTER TABLE statement_activities ADD CONSTRAINT statement_activities_usage_check CHECK (usage IN (
    'object', 'parent', 'grouping', 'category', 'other',
    'sub_object', 'sub_parent', 'sub_grouping', 'sub_category', 'sub_other',
    'target_object', 'target_parent', 'target_grouping', 'target_category', 'target_other',
    'target_sub_object', 'target_sub_parent', 'target_sub_grouping', 'target_sub_category',
    'target_sub_other'))
    NOT VALID;
