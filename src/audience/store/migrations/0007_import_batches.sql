-- Imports are batches: each can be listed, shown, undone, replaced.
ALTER TABLE imports ADD COLUMN source VARCHAR;             -- --source, or the file's stem
ALTER TABLE imports ADD COLUMN status VARCHAR DEFAULT 'loaded';  -- loaded | undone
ALTER TABLE imports ADD COLUMN undone_at TIMESTAMP;
ALTER TABLE imports ADD COLUMN ignored JSON;               -- columns mapped to no field
ALTER TABLE imports ADD COLUMN traits JSON;                -- columns kept as customer traits
ALTER TABLE imports ADD COLUMN one_order_per_line BOOLEAN DEFAULT false;
ALTER TABLE imports ADD COLUMN replaced JSON;              -- imports it replaced (--replace)

-- Which import recorded a consent change, so that undoing it removes the change.
ALTER TABLE consents ADD COLUMN import_id VARCHAR;

-- The version of a row an import replaced (an update), kept so that undoing the import
-- restores it: the table's row as JSON, and the import that had written it.
CREATE TABLE import_replaced_rows (
    import_id          VARCHAR NOT NULL,
    table_name         VARCHAR NOT NULL,
    previous_import_id VARCHAR NOT NULL,
    row                JSON NOT NULL
);

-- Rows of an earlier import that a later import re-stated (unchanged) or replaced (updated),
-- counted per pair: an import cannot be undone while a later one still stands on its rows.
CREATE TABLE import_overlaps (
    import_id          VARCHAR NOT NULL,
    earlier_import_id  VARCHAR NOT NULL,
    rows_restated      BIGINT NOT NULL,
    rows_replaced      BIGINT NOT NULL,
    PRIMARY KEY (import_id, earlier_import_id)
);

-- A short number per import, in the order they ran, for the command line ('imports undo 3').
ALTER TABLE imports ADD COLUMN batch_no BIGINT;
UPDATE imports SET batch_no = n.batch_no
FROM (SELECT import_id, row_number() OVER (ORDER BY started_at, import_id) AS batch_no
      FROM imports) n
WHERE imports.import_id = n.import_id;
-- Imports made before sources were recorded: the file's stem, as the import used by default.
UPDATE imports SET source = regexp_replace(regexp_replace(source_file, '^.*[/\\]', ''),
                                           '\.[^.]*$', '')
WHERE source IS NULL;
