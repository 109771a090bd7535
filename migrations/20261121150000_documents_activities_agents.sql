-- Document resources (State, Activity Profile, Agent Profile: xAPI 1.0.3 Communication §2.2–§2.7,
-- Data §1), canonical Activity definitions (Communication §2.5) and the Agent names behind the
-- Agents Resource (Communication §2.4). Every key leads with store_id.

-- One row per document. The three resources share the table; the columns a resource does not
-- use hold '' (activity_iri, agent_ifi) so that they can be part of the primary key, and
-- `registration` holds the nil UUID for State documents stored without a registration.
CREATE TABLE documents (
    store_id     bigint NOT NULL REFERENCES stores (id),
    kind         text NOT NULL CHECK (kind IN ('state', 'activity_profile', 'agent_profile')),
    activity_iri text NOT NULL,
    agent_ifi    text NOT NULL,         -- xapi::ifi::key of the agent parameter
    registration uuid NOT NULL,
    doc_id       text NOT NULL,         -- stateId or profileId
    content_type text NOT NULL,
    content      bytea NOT NULL,        -- the exact bytes received
    etag         text NOT NULL,         -- SHA-1 of content, lowercase hex, unquoted
    updated      timestamptz NOT NULL,  -- millisecond precision, strictly increasing per document
    PRIMARY KEY (store_id, kind, activity_iri, agent_ifi, registration, doc_id)
);
-- `since` filters of the multiple-document GET.
CREATE INDEX documents_updated ON documents (store_id, kind, activity_iri, agent_ifi, updated);

-- The canonical definition of each Activity, merged from statements stored by credentials that
-- may define Activities (`define` or `all` scope).
CREATE TABLE activities (
    store_id     bigint NOT NULL REFERENCES stores (id),
    activity_iri text NOT NULL,
    definition   jsonb NOT NULL,
    updated      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, activity_iri)
);

-- Names seen for an Agent identifier in statements; insert-only, so concurrent batches never
-- update a shared row.
CREATE TABLE agent_names (
    store_id bigint NOT NULL REFERENCES stores (id),
    ifi      text NOT NULL,
    name     text NOT NULL,
    PRIMARY KEY (store_id, ifi, name)
);
