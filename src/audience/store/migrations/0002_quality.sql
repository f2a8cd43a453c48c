-- Data quality and identity resolution. Imported rows are never changed: cleaning writes
-- its own tables, rebuilt by each `audience clean`.

-- One row per imported customer record, normalised, with a status per normaliser.
CREATE TABLE customer_records_clean (
    record_id       VARCHAR PRIMARY KEY,      -- customers.customer_id
    source          VARCHAR NOT NULL,
    email           VARCHAR,
    email_status    VARCHAR NOT NULL,
    phone           VARCHAR,                  -- E.164
    phone_status    VARCHAR NOT NULL,
    first_name      VARCHAR,
    last_name       VARCHAR,
    name_status     VARCHAR NOT NULL,
    birth_date      DATE,
    gender          VARCHAR,
    postcode        VARCHAR,
    postcode_status VARCHAR NOT NULL,
    city            VARCHAR,
    city_insee      VARCHAR,
    dep_code        VARCHAR,
    region          VARCHAR,
    city_status     VARCHAR NOT NULL,
    signup_at       TIMESTAMP,
    updated_at      TIMESTAMP NOT NULL
);

-- Which profile (resolved person) each record belongs to.
CREATE TABLE profile_members (
    record_id    VARCHAR PRIMARY KEY,
    profile_id   VARCHAR NOT NULL
);

-- `identities` (from 0001) maps every identifier (record, e-mail, phone, user id, anonymous
-- id) to its profile in customer_id; events and orders follow their person through it.

-- One clean profile per real person, traits chosen by the survivorship rules.
CREATE TABLE profiles (
    profile_id   VARCHAR PRIMARY KEY,
    email        VARCHAR,
    phone        VARCHAR,
    first_name   VARCHAR,
    last_name    VARCHAR,
    birth_date   DATE,
    gender       VARCHAR,
    postcode     VARCHAR,
    city         VARCHAR,
    city_insee   VARCHAR,
    dep_code     VARCHAR,
    region       VARCHAR,
    signup_at    TIMESTAMP,
    n_records    INTEGER NOT NULL,
    sources      VARCHAR[] NOT NULL,
    resolved_at  TIMESTAMP NOT NULL
);

-- The evidence behind every merge: which records were linked, by which rule, how strongly.
CREATE TABLE merges (
    profile_id   VARCHAR NOT NULL,
    record_id    VARCHAR NOT NULL,
    linked_to    VARCHAR NOT NULL,            -- another record, or the shared identifier
    rule         VARCHAR NOT NULL,            -- same_email | same_phone | ... | fuzzy_name
    score        DOUBLE,
    resolved_at  TIMESTAMP NOT NULL
);

-- Values that lost to the survivorship rule, kept beside the winner.
CREATE TABLE trait_conflicts (
    profile_id   VARCHAR NOT NULL,
    trait        VARCHAR NOT NULL,
    kept_value   VARCHAR NOT NULL,
    kept_from    VARCHAR NOT NULL,            -- record id
    lost_values  VARCHAR[] NOT NULL
);

-- A record detached by `audience unmerge`: it stays a person of its own until undone.
CREATE TABLE identity_overrides (
    record_id    VARCHAR NOT NULL,
    action       VARCHAR NOT NULL,            -- detach
    created_at   TIMESTAMP NOT NULL,
    undone_at    TIMESTAMP
);

-- Product categories as imported -> the taxonomy of audience.yaml.
CREATE TABLE category_map (
    raw          VARCHAR PRIMARY KEY,
    category     VARCHAR,                     -- NULL when unmapped
    status       VARCHAR NOT NULL,
    score        DOUBLE
);

-- How the last cleaning went, per source, for the quality report.
CREATE TABLE clean_runs (
    run_id       VARCHAR PRIMARY KEY,
    created_at   TIMESTAMP NOT NULL,
    summary      JSON NOT NULL
);

ALTER TABLE imports ADD COLUMN mapping JSON;

-- Segment alias events: the id a user had before (often her anonymous id).
ALTER TABLE events ADD COLUMN previous_id VARCHAR;
