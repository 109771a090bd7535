-- Attachment content (Data §2.4.11), stored once per store and SHA-2, whatever number of
-- statements declare it. Statements are never deleted (voiding keeps them), so content that
-- a statement ever declared is kept for as long as that statement exists.
CREATE TABLE attachments (
    store_id bigint NOT NULL REFERENCES stores (id),
    sha2     text NOT NULL,                 -- lower-case hex, as declared by the statements
    content  bytea NOT NULL,
    created  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, sha2)
);
