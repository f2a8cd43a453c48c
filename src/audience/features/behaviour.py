"""Behavioural features per customer, computed as SQL inside the warehouse.

One row per person, as of a date: the configured one or the latest timestamp in the data.
After ``audience clean`` a person is a profile, and orders and events follow her through the
views ``person_order_lines`` and ``person_events`` (every record, user id and anonymous id of
hers); before, a person is an imported customer record.

Event names follow the Segment e-commerce, e-mail and mobile specs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb

from audience.config import FeatureSettings
from audience.errors import InputError
from audience.features.context import (
    CONTEXT_JOINS,
    context_catalog,
    context_columns,
    context_ctes,
)
from audience.model.fields import FEATURES
from audience.store.sql import ident
from audience.store.warehouse import scalar

# Pseudo-events at the population's mobile share added to everyone's own: with two events, a
# share of 0 or 1 says little, and the shrunk value keeps such people near the average.
MOBILE_PRIOR_WEIGHT = 5


@dataclass(frozen=True)
class FeatureSummary:
    as_of: datetime
    n_customers: int
    columns: list[str]


def data_as_of(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """Latest order or event timestamp in the warehouse."""
    latest: datetime | None = scalar(
        con,
        """SELECT greatest((SELECT max(ordered_at) FROM order_lines),
                           (SELECT max("timestamp") FROM events))""",
    )
    return latest


# Columns named rather than `* EXCLUDE`: the query is transpiled for Spark, which has no EXCLUDE.
_SUMS = ", ".join(
    f"b.{c}"
    for c in (
        "visits",
        "product_views",
        "cart_adds",
        "email_opens",
        "email_clicks",
        "mobile_events",
        "device_events",
        "evening_events",
        "first_event",
    )
)

# Constants are written as DOUBLE literals (86400e0, 1.5e-03): Spark reads 86400.0 as a
# DECIMAL and keeps only 6 or 7 decimals of a quotient by it, where DuckDB computes in DOUBLE.

# Engagement sums of events per id: events are summed per user id (or, for anonymous-only
# events, per anonymous id) and only those sums are mapped to people, a twentieth of the rows.
_EVENT_SUMS = """
    SELECT {key} AS id,
           sum(w) FILTER (WHERE type IN ('page', 'screen') OR event = 'Application Opened')
             AS visits,
           sum(w) FILTER (WHERE event = 'Product Viewed') AS product_views,
           sum(w) FILTER (WHERE event = 'Product Added') AS cart_adds,
           sum(w) FILTER (WHERE event = 'Email Opened') AS email_opens,
           sum(w) FILTER (WHERE event = 'Email Link Clicked') AS email_clicks,
           count(*) FILTER (WHERE mobile AND type <> 'identify') AS mobile_events,
           count(*) FILTER (WHERE type <> 'identify') AS device_events,
           count(*) FILTER (WHERE type <> 'identify' AND hour("timestamp" + {offset}) >= 18)
             AS evening_events,
           min("timestamp") AS first_event
    FROM (SELECT *, json_extract_string(context, '$.device.type') = 'mobile' AS mobile,
                 exp(-{decay:.17e} * (epoch({as_of}) - epoch("timestamp")) / 86400e0) AS w
          FROM events WHERE "timestamp" <= {as_of} AND {where})
    GROUP BY {key}"""


def compute_features(
    con: duckdb.DuckDBPyConnection,
    settings: FeatureSettings,
    timezone: str = "UTC",
    taxonomy: Sequence[str] = (),
    *,
    now: datetime,
    as_of: datetime | None = None,
    into: str | None = None,
) -> FeatureSummary:
    """Replace the ``features`` table with one row per customer as of the chosen date.

    ``timezone`` places the evening of ``evening_share``; ``taxonomy`` names the categories
    whose share of spend becomes a ``category_<name>`` feature. ``as_of`` overrides the
    configured date; ``into`` names a temporary table to write instead, leaving ``features``
    and its catalogue as they are: a backtest computes the past beside the present, and
    leaves out the people not known yet at ``as_of`` (signed up later, no order or event).
    """
    if as_of is None and settings.as_of:
        as_of = datetime.fromisoformat(settings.as_of)
    as_of = as_of or data_as_of(con)
    if as_of is None:
        raise InputError(
            "no orders and no events in the warehouse; import some with "
            "'audience import orders FILE' or 'audience import events FILE'"
        )
    target = f"TEMP TABLE {ident(into)}" if into else "TABLE features"
    query = feature_query(settings, as_of, timezone, taxonomy, known_only=into is not None)
    con.execute(f"CREATE OR REPLACE {target} AS {query}")
    catalog = {**FEATURES, **context_catalog(taxonomy)}
    if into:
        n = int(scalar(con, f"SELECT count(*) FROM {ident(into)}"))
        return FeatureSummary(as_of=as_of, n_customers=n, columns=list(catalog))
    con.execute("DELETE FROM feature_catalog")
    con.executemany(
        "INSERT INTO feature_catalog VALUES (?, ?, ?)",
        [[name, description, now] for name, description in catalog.items()],
    )
    n = int(scalar(con, "SELECT count(*) FROM features"))
    return FeatureSummary(as_of=as_of, n_customers=n, columns=list(catalog))


def feature_query(
    settings: FeatureSettings,
    as_of: datetime,
    timezone: str = "UTC",
    taxonomy: Sequence[str] = (),
    *,
    known_only: bool = False,
) -> str:
    """The SELECT of the features as of ``as_of``, in DuckDB's dialect: the one definition.

    The warehouse runs it as written; the Spark engine runs it transpiled by sqlglot
    (:mod:`audience.features.on_spark`), so that the two engines never hold two copies.
    ``known_only`` leaves out the people not known yet at ``as_of`` (a backtest's past).
    """
    decay = math.log(2) / settings.engagement_half_life_days
    # A literal, not a subquery: DuckDB folds it into every expression over millions of rows.
    at = f"TIMESTAMP '{as_of.isoformat(sep=' ')}'"
    recent = f"{at} - INTERVAL 90 DAY"
    # One offset for all events, the zone's at the as-of date: an hour off around a change of
    # summer time moves few events across 18:00, and a per-event zone lookup costs seconds.
    # Whole minutes as a quoted literal: the one interval form both DuckDB and Spark parse.
    offset_minutes = round(
        (ZoneInfo(timezone).utcoffset(as_of) or timedelta(0)).total_seconds() / 60
    )
    sums = functools.partial(
        _EVENT_SUMS.format, decay=decay, as_of=at, offset=f"INTERVAL '{offset_minutes}' MINUTE"
    )
    # least() skips NULLs: only a sign-up after the date, with nothing else, is unknown then.
    first_seen = "least(c.signup_at, o.first_order, e.first_event)"
    known = f"\n        WHERE coalesce({first_seen} <= {at}, true)" if known_only else ""
    return f"""
        WITH by_user AS ({sums(key="user_id", where="user_id IS NOT NULL")}
        ), by_anonymous AS ({sums(key="anonymous_id", where="user_id IS NULL")}
        ), seen_with AS (
            SELECT anonymous_id, min(user_id) AS user_id FROM anonymous_links
            WHERE anonymous_id IN (SELECT id FROM by_anonymous) GROUP BY anonymous_id
        ), mapped AS (
            -- The rule of the view person_keys, applied to sums per id rather than per event.
            SELECT coalesce(m.customer_id, b.id) AS customer_id, {_SUMS}
            FROM by_user b
            LEFT JOIN identities m ON m.id_type = 'user_id' AND m.id_value = b.id
            UNION ALL
            SELECT coalesce(m.customer_id, s.user_id) AS customer_id, {_SUMS}
            FROM by_anonymous b
            LEFT JOIN identities m ON m.id_type = 'anonymous_id' AND m.id_value = b.id
            LEFT JOIN seen_with s ON s.anonymous_id = b.id
        ), ev_agg AS (
            SELECT customer_id, sum(visits) AS visits, sum(product_views) AS product_views,
                   sum(cart_adds) AS cart_adds, sum(email_opens) AS email_opens,
                   sum(email_clicks) AS email_clicks, sum(mobile_events) AS mobile_events,
                   sum(device_events) AS device_events, sum(evening_events) AS evening_events,
                   min(first_event) AS first_event
            FROM mapped WHERE customer_id IS NOT NULL GROUP BY customer_id
        ), device_prior AS (
            SELECT coalesce(sum(mobile_events) / nullif(sum(device_events), 0), 0) AS p FROM ev_agg
        ), orders_ AS (
            SELECT coalesce(m.profile_id, o.customer_id) AS customer_id, o.order_id,
                   o.placed_at, o.total, o.discount, o.channel
            FROM (SELECT customer_id, order_id, min(ordered_at) AS placed_at,
                         sum(amount) AS total, sum(discount) AS discount,
                         any_value(lower(channel)) AS channel
                  FROM order_lines WHERE ordered_at <= {at}
                  GROUP BY ALL) o
            LEFT JOIN profile_members m ON m.record_id = o.customer_id
        ), ord_agg AS (
            SELECT customer_id, count(*) AS frequency, sum(total) AS monetary,
                   min(placed_at) AS first_order, max(placed_at) AS last_order,
                   sum(discount)::DOUBLE / nullif(sum(total) + sum(discount), 0) AS discount_share,
                   count(*) FILTER (WHERE placed_at > {recent}) AS orders_90d,
                   coalesce(sum(total) FILTER (WHERE placed_at > {recent}), 0) AS revenue_90d,
                   avg(CASE WHEN channel = 'app' THEN 1.0 ELSE 0.0 END) AS app_share
            FROM orders_ GROUP BY customer_id
        ), people AS (
            -- After `audience clean`, one row per profile; before, one per imported record.
            SELECT profile_id AS customer_id, signup_at, birth_date FROM profiles
            UNION ALL
            SELECT customer_id, signup_at, birth_date FROM customers
            WHERE NOT EXISTS (SELECT 1 FROM profiles)
        ), {context_ctes(at, taxonomy)}, o_at AS (SELECT {at}::DATE AS day
        ), population AS (
            SELECT customer_id FROM people
            UNION SELECT customer_id FROM ord_agg
            UNION SELECT customer_id FROM ev_agg
        )
        SELECT p.customer_id,
               {at} AS as_of,
               date_diff('second', o.last_order, {at}) / 86400e0 AS recency_days,
               coalesce(o.frequency, 0) AS frequency,
               coalesce(o.monetary, 0)::DOUBLE AS monetary,
               o.monetary::DOUBLE / o.frequency AS avg_basket,
               CASE WHEN o.frequency > 1 THEN date_diff('second', o.first_order, o.last_order)
                    / 86400e0 / (o.frequency - 1) END AS mean_days_between,
               coalesce(o.discount_share, 0)::DOUBLE AS discount_share,
               date_diff('second', least(c.signup_at, o.first_order, e.first_event),
                         {at}) / 86400e0 AS tenure_days,
               date_diff('day', c.birth_date, {at}::DATE) / 365.25e0 AS age,
               coalesce(e.visits, 0) AS visits,
               coalesce(e.product_views, 0) AS product_views,
               coalesce(e.cart_adds, 0) AS cart_adds,
               coalesce(e.email_opens, 0) AS email_opens,
               coalesce(e.email_clicks, 0) AS email_clicks,
               (coalesce(e.mobile_events, 0) + {MOBILE_PRIOR_WEIGHT} * (SELECT p FROM device_prior))
                 / (coalesce(e.device_events, 0) + {MOBILE_PRIOR_WEIGHT}) AS mobile_share,
               coalesce(e.evening_events / nullif(e.device_events, 0), 0)::DOUBLE
                 AS evening_share,
               coalesce(o.orders_90d, 0) AS orders_90d,
               coalesce(o.revenue_90d, 0)::DOUBLE AS revenue_90d,
               {context_columns(taxonomy)}
        FROM population p
        CROSS JOIN o_at
        LEFT JOIN people c USING (customer_id)
        LEFT JOIN ord_agg o USING (customer_id)
        LEFT JOIN ev_agg e USING (customer_id){CONTEXT_JOINS}{known}"""
