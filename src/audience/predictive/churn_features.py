"""Churn features as of a cut-off day, and the label of the following horizon, in SQL.

The ``features`` table holds one as-of date; a time split needs several, so the few
features the churn model uses are recomputed here as of any day, from orders and events
strictly up to it. Days are calendar days in the workspace time zone, and a customer's
orders of one day count as one purchase, as for the CLV models. A customer is a person: a
profile after ``audience clean`` (records merged into it are not customers of their own),
orders and events following her through the people views (migration 0004).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa

from audience.predictive.purchases import daily_transactions_sql, local_day

FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "tenure_days",
    "days_since_first_order",
    "mean_gap_days",
    "overdue_ratio",
    "purchases_30d",
    "purchases_90d",
    "purchases_prev_90d",
    "purchases_365d",
    "revenue_90d",
    "revenue_365d",
    "events_30d",
    "events_90d",
    "email_opens_90d",
    "email_clicks_90d",
    "days_since_last_event",
)
"""Model inputs, in column order. Missing values (no order, no event) stay NULL/NaN."""

POPULATION_DEFINITION = (
    "persons (profiles after 'audience clean', else customer records) known by {cutoff}: "
    "signed up, ordered or seen in an event on or before it"
)


_SQL = """
WITH days AS ({days}),
ev AS (
    SELECT customer_id, {event_day} AS day, event, type
    FROM person_events WHERE customer_id IS NOT NULL AND type <> 'identify'
),
o AS (
    SELECT customer_id, min(day) AS first_order, max(day) AS last_order,
           count(*) AS frequency, sum(amount) AS monetary,
           count(*) FILTER (WHERE day > $c - 30) AS purchases_30d,
           count(*) FILTER (WHERE day > $c - 90) AS purchases_90d,
           count(*) FILTER (WHERE day > $c - 180 AND day <= $c - 90) AS purchases_prev_90d,
           count(*) FILTER (WHERE day > $c - 365) AS purchases_365d,
           coalesce(sum(amount) FILTER (WHERE day > $c - 90), 0) AS revenue_90d,
           coalesce(sum(amount) FILTER (WHERE day > $c - 365), 0) AS revenue_365d
    FROM days WHERE day <= $c GROUP BY customer_id
),
e AS (
    SELECT customer_id, min(day) AS first_event, max(day) AS last_event,
           count(*) FILTER (WHERE day > $c - 30) AS events_30d,
           count(*) FILTER (WHERE day > $c - 90) AS events_90d,
           count(*) FILTER (WHERE day > $c - 90 AND event = 'Email Opened') AS email_opens_90d,
           count(*) FILTER (WHERE day > $c - 90 AND event = 'Email Link Clicked')
             AS email_clicks_90d
    FROM ev WHERE day <= $c GROUP BY customer_id
),
known AS (
    SELECT customer_id, {signup_day} AS first_seen FROM persons
    UNION ALL SELECT customer_id, first_order FROM o
    UNION ALL SELECT customer_id, first_event FROM e
),
fut AS (
    SELECT customer_id, count(*) AS n FROM days
    WHERE day > $c AND day <= $c + $h::INTEGER GROUP BY customer_id
),
p AS (
    SELECT customer_id, min(first_seen) AS first_seen FROM known GROUP BY customer_id
    HAVING min(first_seen) IS NULL OR min(first_seen) <= $c
)
SELECT p.customer_id, {label}
    date_diff('day', o.last_order, $c::DATE)::DOUBLE AS recency_days,
    coalesce(o.frequency, 0)::DOUBLE AS frequency,
    coalesce(o.monetary, 0)::DOUBLE AS monetary,
    (o.monetary / o.frequency)::DOUBLE AS avg_order_value,
    date_diff('day', p.first_seen, $c::DATE)::DOUBLE AS tenure_days,
    date_diff('day', o.first_order, $c::DATE)::DOUBLE AS days_since_first_order,
    CASE WHEN o.frequency > 1 THEN date_diff('day', o.first_order, o.last_order)
         / (o.frequency - 1) END::DOUBLE AS mean_gap_days,
    CASE WHEN o.frequency > 1 THEN date_diff('day', o.last_order, $c::DATE)
         / (date_diff('day', o.first_order, o.last_order) / (o.frequency - 1)) END::DOUBLE
      AS overdue_ratio,
    coalesce(o.purchases_30d, 0)::DOUBLE AS purchases_30d,
    coalesce(o.purchases_90d, 0)::DOUBLE AS purchases_90d,
    coalesce(o.purchases_prev_90d, 0)::DOUBLE AS purchases_prev_90d,
    coalesce(o.purchases_365d, 0)::DOUBLE AS purchases_365d,
    coalesce(o.revenue_90d, 0)::DOUBLE AS revenue_90d,
    coalesce(o.revenue_365d, 0)::DOUBLE AS revenue_365d,
    coalesce(e.events_30d, 0)::DOUBLE AS events_30d,
    coalesce(e.events_90d, 0)::DOUBLE AS events_90d,
    coalesce(e.email_opens_90d, 0)::DOUBLE AS email_opens_90d,
    coalesce(e.email_clicks_90d, 0)::DOUBLE AS email_clicks_90d,
    date_diff('day', e.last_event, $c::DATE)::DOUBLE AS days_since_last_event
FROM p LEFT JOIN o USING (customer_id) LEFT JOIN e USING (customer_id)
    LEFT JOIN fut USING (customer_id)
ORDER BY p.customer_id
"""


def features_as_of(
    con: duckdb.DuckDBPyConnection, timezone: str, cutoff: date, horizon_days: int | None
) -> pa.Table:
    """One row per customer known by ``cutoff``; with a horizon, the ``churned`` label too.

    A customer is known once signed up, ordered or identified in an event; customers with no
    date at all (a CRM export without sign-up dates) are known at every cut-off.
    """
    label = "coalesce(fut.n, 0) = 0 AS churned," if horizon_days is not None else ""
    params: dict[str, object] = {"c": cutoff, "h": horizon_days or 0}
    sql = _SQL.format(
        days=daily_transactions_sql(timezone),
        event_day=local_day('"timestamp"', timezone),
        signup_day=local_day("signup_at", timezone),
        label=label,
    )
    return con.sql(sql, params=params).to_arrow_table()
