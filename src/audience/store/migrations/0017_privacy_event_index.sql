-- The events' privacy index also holds their ids (kinds user_id, anonymous_id, previous_id:
-- as stored; user_email: a user id that is an e-mail, lower-cased) beside the personal tokens of their JSON (kind 'json', lower-cased), with
-- each event's timestamp: erasure finds a person's events by index lookups (each import's
-- rows are written sorted by token, so min/max statistics skip the rest), then reads only the
-- row groups of events holding those timestamps, instead of scanning the id columns of every
-- event. Rebuilt from the events by the next import or erasure (privacy_indexed_imports
-- emptied).
DROP TABLE privacy_event_tokens;
DELETE FROM privacy_indexed_imports;
CREATE TABLE privacy_event_tokens (
    token         VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,   -- json | user_id | anonymous_id | previous_id | user_email
    message_id    VARCHAR NOT NULL,
    "timestamp"   TIMESTAMP NOT NULL
);
