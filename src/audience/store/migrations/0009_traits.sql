-- Custom traits: every column of a customer file that maps to no field, typed per import.
-- customers.traits holds the typed values (JSON numbers, booleans, ISO dates 'YYYY-MM-DD',
-- strings); profiles.traits merges them per person (survivorship); rules and clustering
-- read them as traits.<name> with the type of the catalogue.

-- What each import decided for each of its trait columns.
CREATE TABLE trait_catalog (
    name         VARCHAR NOT NULL,              -- normalised: 'Loyalty Tier' -> loyalty_tier
    import_id    VARCHAR NOT NULL,
    type         VARCHAR NOT NULL,              -- number | date | boolean | category | text
    source_column VARCHAR NOT NULL,             -- the column as named in the file
    n_values     BIGINT NOT NULL,               -- non-empty cells of the loaded rows
    n_distinct   BIGINT NOT NULL,
    examples     VARCHAR[] NOT NULL,            -- up to three of the most frequent values
    PRIMARY KEY (name, import_id)
);

-- The type of each trait now: the latest import that carried it decides.
CREATE VIEW trait_types AS
SELECT c.name, arg_max(c.type, (i.started_at, c.import_id)) AS type,
       arg_max(c.import_id, (i.started_at, c.import_id)) AS import_id
FROM trait_catalog c JOIN imports i USING (import_id)
GROUP BY c.name;

ALTER TABLE profiles ADD COLUMN traits JSON;
