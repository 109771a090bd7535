-- Cairn's first schema: stores (tenants), credentials, statements and their link tables.
-- Every key leads with store_id so that adding stores later is configuration, not a data migration.

CREATE TABLE stores (
    id      bigint PRIMARY KEY,
    name    text NOT NULL UNIQUE,
    created timestamptz NOT NULL DEFAULT now()
);
INSERT INTO stores (id, name) VALUES (1, 'default');

CREATE TABLE credentials (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id    bigint NOT NULL REFERENCES stores (id),
    api_key     text NOT NULL UNIQUE,
    secret_hash text NOT NULL,          -- argon2id PHC string
    name        text NOT NULL,
    scopes      text[] NOT NULL,
    authority   jsonb NOT NULL,         -- the Agent stamped as "authority" on statements
    created     timestamptz NOT NULL DEFAULT now(),
    revoked     timestamptz
);

-- One row per statement. `seq` is the monotonic change feed: paging (since/until/more) and the
-- warehouse ETL read key ranges on it, never OFFSET.
CREATE TABLE statements (
    store_id       bigint NOT NULL REFERENCES stores (id),
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    statement_id   uuid NOT NULL,
    stored         timestamptz NOT NULL,
    "timestamp"    timestamptz NOT NULL,
    verb_iri       text NOT NULL,
    registration   uuid,
    statement_ref  uuid,                -- the object's statement id when the object is a StatementRef
    voiding_target uuid,                -- set when this statement voids another (verb voided + StatementRef)
    voided         boolean NOT NULL DEFAULT false,
    credential_id  bigint,
    statement      jsonb NOT NULL,      -- the statement as returned with format=exact
    PRIMARY KEY (store_id, seq),
    UNIQUE (store_id, statement_id)
);
CREATE INDEX statements_verb ON statements (store_id, verb_iri, seq);
CREATE INDEX statements_registration ON statements (store_id, registration, seq) WHERE registration IS NOT NULL;
CREATE INDEX statements_credential ON statements (store_id, credential_id, seq);
CREATE INDEX statements_stored ON statements (store_id, stored);
CREATE INDEX statements_statement_ref ON statements (store_id, statement_ref) WHERE statement_ref IS NOT NULL;
CREATE INDEX statements_voiding_target ON statements (store_id, voiding_target) WHERE voiding_target IS NOT NULL;

-- statement <-> agent, by inverse functional identifier. usage says where the agent appears.
CREATE TABLE statement_agents (
    store_id bigint NOT NULL,
    seq      bigint NOT NULL,
    usage    text NOT NULL CHECK (usage IN (
                 'actor', 'object', 'authority', 'instructor', 'team', 'member',
                 'context_agent', 'context_group',
                 'sub_actor', 'sub_object', 'sub_instructor', 'sub_team', 'sub_member',
                 'sub_context_agent', 'sub_context_group')),
    ifi      text NOT NULL
);
CREATE INDEX statement_agents_ifi ON statement_agents (store_id, ifi, seq);
CREATE INDEX statement_agents_seq ON statement_agents (store_id, seq);

-- statement <-> activity. usage says where the activity appears.
CREATE TABLE statement_activities (
    store_id     bigint NOT NULL,
    seq          bigint NOT NULL,
    usage        text NOT NULL CHECK (usage IN (
                     'object', 'parent', 'grouping', 'category', 'other',
                     'sub_object', 'sub_parent', 'sub_grouping', 'sub_category', 'sub_other')),
    activity_iri text NOT NULL
);
CREATE INDEX statement_activities_iri ON statement_activities (store_id, activity_iri, seq);
CREATE INDEX statement_activities_seq ON statement_activities (store_id, seq);
