-- Dashboard records computed by batch runs (issue 17): a cold page of a million customers reads
-- one row here instead of summarising every order or member. `basis` holds cheap facts of the
-- tables the record was computed from; a page uses the row only while they still hold.
CREATE TABLE page_snapshots (
    name         VARCHAR PRIMARY KEY,           -- e.g. cohorts:Europe/Paris:retention, map:<run>
    basis        VARCHAR NOT NULL,
    computed_at  TIMESTAMP NOT NULL,
    body         JSON NOT NULL
);
