-- One reason code per quarantined row (the list: audience.model.quarantine_codes), the
-- parser's own message kept apart from the reason, and rows discarded with a record of who,
-- when and why instead of being deleted.
ALTER TABLE quarantine ADD COLUMN code VARCHAR;
ALTER TABLE quarantine ADD COLUMN parser_message VARCHAR;
ALTER TABLE quarantine ADD COLUMN discarded_at TIMESTAMP;
ALTER TABLE quarantine ADD COLUMN discarded_by VARCHAR;
ALTER TABLE quarantine ADD COLUMN note VARCHAR;
-- The code is the first reason's: stored reasons start with it ('bad_date:birth_date ...').
UPDATE quarantine SET code = CASE
    WHEN regexp_extract(reason, '^([a-z_]+)', 1) IN (
        'bad_encoding', 'malformed_row', 'missing', 'bad_timestamp', 'bad_date',
        'implausible_date', 'bad_decimal', 'bad_integer', 'bad_bool', 'bad_json', 'bad_value',
        'duplicate_key', 'unknown_customer', 'negative_amount', 'missing_quantity',
        'currency_mismatch', 'no_usable_identifier')
    THEN regexp_extract(reason, '^([a-z_]+)', 1)
    ELSE 'other' END;
