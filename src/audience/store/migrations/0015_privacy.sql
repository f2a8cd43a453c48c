-- Privacy: regulations (erasure, suppression) with a status per store, the suppression list
-- and the audit log. None of these tables holds an identifier in clear: a keyed hash
-- (HMAC-SHA256 with the workspace's privacy key, kept outside the workspace) stands for it.

-- One request to forget or suppress a person (Segment's regulation types, simplified).
CREATE TABLE regulations (
    regulation_id VARCHAR PRIMARY KEY,
    type          VARCHAR NOT NULL,             -- delete | suppress | suppress-and-delete | unsuppress
    subject_kind  VARCHAR NOT NULL,             -- customer | email | phone | user_id
    subject_hash  VARCHAR NOT NULL,             -- keyed hash of the identifier as asked
    status        VARCHAR NOT NULL,             -- finished | nobody | refused | failed
    persons       BIGINT NOT NULL,              -- persons the identifier matched
    requested_by  VARCHAR NOT NULL,             -- cli:<user> | api:<key hash prefix>
    requested_at  TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP
);

-- What each store held and what was deleted in it, with the time it took.
CREATE TABLE regulation_stores (
    regulation_id VARCHAR NOT NULL,
    store         VARCHAR NOT NULL,             -- warehouse:<table> | live | queue | event_logs ...
    status        VARCHAR NOT NULL,             -- done | nothing | skipped | failed
    found         BIGINT NOT NULL,
    deleted       BIGINT NOT NULL,
    seconds       DOUBLE NOT NULL,
    detail        VARCHAR,
    PRIMARY KEY (regulation_id, store)
);

-- Identities whose new data is dropped (collector) or quarantined (import).
CREATE TABLE suppressions (
    id_hash       VARCHAR PRIMARY KEY,          -- keyed hash of the canonical identifier
    id_kind       VARCHAR NOT NULL,             -- email | phone | user_id | anonymous_id | customer
    regulation_id VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL
);

-- Administrative actions: who, what, when; the subject only as a keyed hash.
CREATE TABLE audit_log (
    logged_at     TIMESTAMP NOT NULL,
    actor         VARCHAR NOT NULL,
    action        VARCHAR NOT NULL,             -- forget | suppress | unsuppress | export-person | retention
    subject_hash  VARCHAR,
    detail        JSON NOT NULL                 -- counts and ids of regulations, never identifiers
);

-- Where identifiers hide inside events' JSON (properties, traits, context): the tokens that
-- look personal (an '@', six digits or more, once phone separators are removed), with their
-- event. Erasure joins a person's forms with it instead of reading every event's JSON, so
-- forgetting one person costs a lookup, not a scan of the whole events table. Built by
-- import, incrementally (privacy_indexed_imports), on the first erasure after an import.
CREATE TABLE privacy_event_tokens (
    token         VARCHAR NOT NULL,
    message_id    VARCHAR NOT NULL
);
CREATE TABLE privacy_indexed_imports (
    import_id     VARCHAR PRIMARY KEY,
    indexed_at    TIMESTAMP NOT NULL
);
