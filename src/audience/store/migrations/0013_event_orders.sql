-- Every 'Order Completed' event as the order it records, keyed as the live path keys it
-- (realtime/live_orders.py): properties.order_id, else 'evt:' || message_id. The amount is
-- the first of total, revenue, value the event holds; anything not a finite number within
-- +/-1e15 counts as 0, as live. The event loader derives an order line (line_no 0) from each
-- new one whose order id the warehouse lacks; `audience publish` tells the live path which of
-- the orders it counted the warehouse now holds.
CREATE VIEW event_orders AS
WITH raw AS (
    SELECT message_id, user_id, anonymous_id, "timestamp", import_id, context,
           CASE WHEN json_type(properties, '$.order_id') NOT IN ('OBJECT', 'ARRAY')
                THEN nullif(trim(json_extract_string(properties, '$.order_id')), '') END AS given_id,
           TRY_CAST(coalesce(json_extract_string(properties, '$.total'),
                             json_extract_string(properties, '$.revenue'),
                             json_extract_string(properties, '$.value')) AS DOUBLE) AS spent,
           TRY_CAST(json_extract_string(properties, '$.discount') AS DOUBLE) AS off,
           upper(nullif(trim(json_extract_string(properties, '$.currency')), '')) AS currency
    FROM events WHERE type = 'track' AND event = 'Order Completed'
)
SELECT coalesce(given_id, 'evt:' || message_id) AS order_id,
       message_id, user_id, anonymous_id, "timestamp" AS ordered_at, import_id,
       CASE WHEN isfinite(spent) AND abs(spent) <= 1e15 THEN spent ELSE 0 END AS amount,
       CASE WHEN isfinite(off) AND abs(off) <= 1e15 THEN abs(off) ELSE 0 END AS discount,
       currency,
       CASE WHEN json_extract(context, '$.app') IS NOT NULL THEN 'app' ELSE 'web' END AS channel
FROM raw;
