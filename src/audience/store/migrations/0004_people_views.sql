-- Orders and events as they belong to people. After `audience clean` the customer_id is the
-- profile a record, user id or anonymous id was resolved into; before, the id as imported,
-- and an anonymous-only event counts for the user its anonymous id was seen with. Every stage
-- that counts per person follows this rule (the features query applies it to sums per id).

-- Every anonymous id seen beside a user id, kept up to date by the event loader so that no
-- stage has to scan all events to stitch anonymous activity to its user.
CREATE TABLE anonymous_links (
    anonymous_id VARCHAR NOT NULL,
    user_id      VARCHAR NOT NULL,
    first_seen   TIMESTAMP NOT NULL,
    PRIMARY KEY (anonymous_id, user_id)
);
INSERT INTO anonymous_links
SELECT anonymous_id, user_id, min("timestamp") FROM events
WHERE anonymous_id IS NOT NULL AND user_id IS NOT NULL GROUP BY ALL;

CREATE VIEW person_order_lines AS
SELECT l.* REPLACE (coalesce(m.profile_id, l.customer_id) AS customer_id)
FROM order_lines l
LEFT JOIN profile_members m ON m.record_id = l.customer_id;

CREATE VIEW person_events AS
WITH seen_with AS (
    SELECT anonymous_id, min(user_id) AS user_id FROM anonymous_links GROUP BY anonymous_id
)
SELECT e.*,
       CASE WHEN e.user_id IS NOT NULL THEN coalesce(mu.customer_id, e.user_id)
            ELSE coalesce(ma.customer_id, s.user_id) END AS customer_id
FROM events e
LEFT JOIN identities mu ON mu.id_type = 'user_id' AND mu.id_value = e.user_id
LEFT JOIN identities ma ON ma.id_type = 'anonymous_id' AND ma.id_value = e.anonymous_id
LEFT JOIN seen_with s ON e.user_id IS NULL AND s.anonymous_id = e.anonymous_id;

CREATE VIEW person_orders AS
SELECT order_id,
       any_value(customer_id)  AS customer_id,
       min(ordered_at)         AS ordered_at,
       sum(amount)             AS total,
       sum(discount)           AS discount,
       any_value(currency)     AS currency,
       count(*)                AS n_lines
FROM person_order_lines
GROUP BY order_id;
