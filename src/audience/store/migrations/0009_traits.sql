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

-- The type of each trait now: the latest import that carried values of it decides (an
-- import whose column was empty does not). A small file cannot show a category's repeats:
-- 'text' with at most 50 distinct values after an import that found a category stays one.
CREATE VIEW trait_types AS
WITH ranked AS (
    SELECT c.*, (c.n_values > 0, i.started_at, c.import_id) AS rank_key
    FROM trait_catalog c JOIN imports i USING (import_id)
), latest AS (
    SELECT name, arg_max(type, rank_key) AS type, arg_max(import_id, rank_key) AS import_id,
           arg_max(n_distinct, rank_key) AS n_distinct,
           bool_or(type = 'category') AS was_category
    FROM ranked GROUP BY name
)
SELECT name,
       CASE WHEN type = 'text' AND was_category AND n_distinct <= 50 THEN 'category'
            ELSE type END AS type,
       import_id
FROM latest;

ALTER TABLE profiles ADD COLUMN traits JSON;
