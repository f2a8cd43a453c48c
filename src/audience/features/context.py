"""Feature families beyond recency, frequency, spend and engagement.

Computed in the same query as the behavioural features (:mod:`audience.features.behaviour`
gives its CTEs ``orders_`` and ``ord_agg``): the spread of days between orders, category
affinity (share of spend per category of the taxonomy), channel mix, and the
socio-demographic age band and region, kept as categories and one-hot encoded only when a
feature set uses them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from audience.store.sql import sql_literal

CONTEXT_FEATURES: dict[str, str] = {
    "spread_days_between": "Standard deviation of the days between orders (three or more).",
    "app_share": "Share of orders placed in the app (order channel 'app').",
    "age_band": "Age band (18-24, 25-34, ...), from the birth date; a category.",
    "region": "Region of the person's commune, after cleaning; a category.",
}
AGE_BANDS = (
    (18, "under 18"),
    (25, "18-24"),
    (35, "25-34"),
    (45, "35-44"),
    (55, "45-54"),
    (65, "55-64"),
)


def category_column(category: str) -> str:
    """'Épicerie fine' -> 'category_epicerie_fine'."""
    folded = unicodedata.normalize("NFKD", category).encode("ascii", "ignore").decode("ascii")
    return "category_" + re.sub(r"[^a-z0-9]+", "_", folded.lower()).strip("_")


def _age_band_sql() -> str:
    age = "date_diff('day', c.birth_date, o_at.day) / 365.25e0"
    cases = " ".join(f"WHEN {age} < {edge} THEN '{label}'" for edge, label in AGE_BANDS)
    return f"CASE WHEN c.birth_date IS NULL THEN NULL {cases} ELSE '65+' END"


def context_ctes(at: str, taxonomy: Sequence[str]) -> str:
    """CTEs over ``orders_`` (one row per order and person) and the order lines.

    Category spend is summed per imported customer id and raw category first, then mapped to
    people and to the taxonomy: a few rows per customer instead of one per order line.
    """
    shares = "".join(
        f", sum(amount) FILTER (WHERE category = {sql_literal(c)}) / nullif(sum(amount), 0) "
        f"AS {category_column(c)}"
        for c in taxonomy
    )
    return f"""
        gaps AS (
            SELECT customer_id, stddev_samp(gap) AS spread FROM (
                SELECT customer_id,
                       date_diff('second', lag(placed_at) OVER (PARTITION BY customer_id
                                                                ORDER BY placed_at), placed_at)
                         / 86400e0 AS gap
                FROM orders_) GROUP BY customer_id
        ), spend_by_category AS (
            SELECT customer_id, category, sum(amount)::DOUBLE AS amount FROM order_lines
            WHERE ordered_at <= {at} GROUP BY ALL
        ), cats AS (
            SELECT coalesce(m.profile_id, s.customer_id) AS customer_id{shares}
            FROM (SELECT s.customer_id, coalesce(cm.category, s.category) AS category, s.amount
                  FROM spend_by_category s LEFT JOIN category_map cm ON cm.raw = s.category) s
            LEFT JOIN profile_members m ON m.record_id = s.customer_id
            GROUP BY 1
        ), places AS (
            SELECT profile_id AS customer_id, region FROM profiles
            UNION ALL
            SELECT record_id, region FROM customer_records_clean
            WHERE NOT EXISTS (SELECT 1 FROM profiles)
        )"""


def context_columns(taxonomy: Sequence[str]) -> str:
    """The context features, over the CTEs of :func:`context_ctes` and ``ord_agg o``."""
    shares = "".join(
        f", coalesce(cats.{category_column(t)}, 0)::DOUBLE AS {category_column(t)}"
        for t in taxonomy
    )
    return (
        f"gaps.spread AS spread_days_between, coalesce(o.app_share, 0)::DOUBLE AS app_share"
        f"{shares}, {_age_band_sql()} AS age_band, places.region"
    )


CONTEXT_JOINS = """
        LEFT JOIN gaps USING (customer_id)
        LEFT JOIN cats USING (customer_id)
        LEFT JOIN places USING (customer_id)"""


def context_catalog(taxonomy: Sequence[str]) -> dict[str, str]:
    return {
        **CONTEXT_FEATURES,
        **{category_column(t): f"Share of spend in {t}." for t in taxonomy},
    }
