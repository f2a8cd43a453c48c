-- Rule segments, activation and consent.
-- Rule segments live in `segments` (segment_id 'rule:<name>', stable across evaluations) with
-- one `segment_runs` row of method 'rules' per evaluation; their history is `memberships`.

-- Why each rule membership began: the leaves of the condition with the values seen.
CREATE TABLE membership_reasons (
    customer_id  VARCHAR NOT NULL,
    segment_id   VARCHAR NOT NULL,
    valid_from   TIMESTAMP NOT NULL,            -- the membership's valid_from
    trace        JSON NOT NULL                  -- [{path, condition, value, matched}, ...]
);

-- Consent of a person: rows of every record resolved into her (profile) count as hers.
CREATE VIEW person_consents AS
SELECT coalesce(m.profile_id, c.customer_id) AS customer_id, c.customer_id AS record_id,
       c.purpose, c.status, c.changed_at, c.source
FROM consents c
LEFT JOIN profile_members m ON m.record_id = c.customer_id;

-- The current status per person and purpose: the latest change; at equal times a denial or a
-- withdrawal wins over a grant (when in doubt, do not send).
CREATE VIEW current_consents AS
SELECT customer_id, purpose,
       arg_max(status, (changed_at, CASE WHEN status = 'granted' THEN 0 ELSE 1 END)) AS status,
       max(changed_at) AS changed_at
FROM person_consents
GROUP BY customer_id, purpose;

-- One row per message to a webhook destination. delivery_id is the webhook-id: derived from
-- (destination, segment, person, change, time), so a replay or a second run reuses it.
CREATE TABLE deliveries (
    delivery_id  VARCHAR NOT NULL,
    destination  VARCHAR NOT NULL,
    segment_id   VARCHAR NOT NULL,
    customer_id  VARCHAR NOT NULL,
    event_type   VARCHAR NOT NULL,              -- segment.entered | segment.exited
    event_at     TIMESTAMP NOT NULL,
    payload      JSON NOT NULL,                 -- the exact body signed and sent
    status       VARCHAR NOT NULL,              -- pending | delivered | suppressed | dead
    reason       VARCHAR,                       -- why suppressed, or the last error
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_status  INTEGER,                       -- HTTP status of the last try
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

-- Messages that failed every try (or were refused for good): `audience deliveries retry`.
CREATE TABLE dead_letters (
    delivery_id  VARCHAR NOT NULL,
    destination  VARCHAR NOT NULL,
    payload      JSON NOT NULL,
    error        VARCHAR NOT NULL,
    attempts     INTEGER NOT NULL,
    last_status  INTEGER,
    dead_at      TIMESTAMP NOT NULL,
    replayed_at  TIMESTAMP,                     -- last replay attempt
    resolved_at  TIMESTAMP                      -- delivered by a replay, or suppressed
);

-- Endpoint state history; the latest row per destination is its state. A 410 Gone answer
-- disables an endpoint until `audience deliveries enable DEST`.
CREATE TABLE endpoint_status (
    destination  VARCHAR NOT NULL,
    status       VARCHAR NOT NULL,              -- active | disabled
    reason       VARCHAR NOT NULL,
    changed_at   TIMESTAMP NOT NULL
);

-- Since when a destination follows a segment: its first activation sends the members of the
-- moment, later ones the changes since.
CREATE TABLE activation_cursors (
    destination  VARCHAR NOT NULL,
    segment_id   VARCHAR NOT NULL,
    started_at   TIMESTAMP NOT NULL
);

-- Files written for file destinations, with what was left out and why.
CREATE TABLE exports (
    export_id    VARCHAR NOT NULL,
    destination  VARCHAR NOT NULL,
    segment_id   VARCHAR NOT NULL,
    format       VARCHAR NOT NULL,              -- csv | json | hubspot | sfmc
    path         VARCHAR NOT NULL,
    n_rows       BIGINT NOT NULL,
    suppressed   JSON NOT NULL,                 -- {reason: count}
    created_at   TIMESTAMP NOT NULL
);
