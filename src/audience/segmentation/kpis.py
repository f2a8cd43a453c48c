"""Marketing KPIs per segment, computed in the warehouse from memberships, features and scores.

Every row is a person: a membership of the run joined to her ``features`` row, her current
predictions (``customer_predictions``: latest CLV and churn runs), whether she is in the highest
band of the latest churn bands, and her sign-up and first order. A KPI that needs a prediction
run the warehouse does not hold is not computed: it is reported unavailable, with the command
that makes it, instead of a figure that would read as zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from audience.config.kpis import unknown_kpis_message
from audience.errors import ConfigError
from audience.store.warehouse import scalar

KPI_SQL: dict[str, str] = {
    "size": "count(*)",
    "share": "count(*) / (SELECT count(*) FROM _members)",
    "revenue": "sum(monetary)",
    "revenue_share": "sum(monetary) / nullif((SELECT sum(monetary) FROM _members), 0)",
    "conversion_rate": "avg(CASE WHEN orders_90d > 0 THEN 1.0 ELSE 0.0 END)",
    "average_order_value": "sum(monetary) / nullif(sum(frequency), 0)",
    "purchase_frequency": "avg(frequency)",
    "average_recency_days": "avg(recency_days)",
    "email_click_rate": "sum(email_clicks) / nullif(sum(email_opens), 0)",
    "repeat_purchase_rate": "avg((frequency >= 2)::DOUBLE) FILTER (WHERE frequency >= 1)",
    "churn_risk_share": "avg(high_churn::DOUBLE)",
    "mean_p_alive": "avg(p_alive)",
    "mean_clv": "avg(clv)",
    "total_clv": "sum(clv)",
    "clv_share": "sum(clv) / nullif((SELECT sum(clv) FROM _members), 0)",
    "first_order_conversion": "avg((frequency >= 1)::DOUBLE)",
    # greatest() skips NULLs, hence the filter: a member without an order has no delay.
    "days_to_first_order": "median(greatest(date_diff('second', signup_at, first_order), 0)"
    " / 86400.0) FILTER (WHERE signup_at IS NOT NULL AND first_order IS NOT NULL)",
}
"""How each KPI is aggregated over the rows of a segment's members (table ``_members``).

repeat_purchase_rate counts among members who ordered at all; days_to_first_order among
members with both a sign-up date and an order.
"""

NEEDS_RUN: dict[str, str] = {
    "churn_risk_share": "churn",
    "mean_p_alive": "clv",
    "mean_clv": "clv",
    "total_clv": "clv",
    "clv_share": "clv",
}
"""KPIs computed from a prediction run, and the kind of run (``audience predict KIND``)."""

# The current churn bands: open memberships of the latest churn_bands run; label 0 is the
# band with the highest lower bound (predictive/bands.py).
_LATEST_CHURN_BANDS = """(SELECT run_id FROM segment_runs WHERE method = 'churn_bands'
                          ORDER BY created_at DESC LIMIT 1)"""

_MEMBERS = f"""
CREATE OR REPLACE TEMP TABLE _members AS
WITH high_churn AS (
    SELECT customer_id FROM memberships
    WHERE valid_to IS NULL AND run_id = {_LATEST_CHURN_BANDS}
      AND segment_id = run_id || ':0'
), first_orders AS (
    SELECT o.customer_id, min(o.ordered_at) AS first_order
    FROM person_order_lines o
    WHERE o.ordered_at <= (SELECT max(as_of) FROM features) AND {{first_orders}}
    GROUP BY o.customer_id
)
SELECT m.segment_id, f.*, p.p_alive, p.clv, h.customer_id IS NOT NULL AS high_churn,
       c.signup_at, o.first_order
FROM memberships m
JOIN features f USING (customer_id)
LEFT JOIN customer_predictions p USING (customer_id)
LEFT JOIN high_churn h USING (customer_id)
LEFT JOIN persons c USING (customer_id)
LEFT JOIN first_orders o USING (customer_id)
WHERE m.run_id = ? AND m.valid_to IS NULL"""


@dataclass
class SegmentKpis:
    """KPI values per segment id, and the KPIs left out for want of a prediction run."""

    values: dict[str, dict[str, float | None]]
    unavailable: dict[str, str] = field(default_factory=dict)
    """KPI name -> what to show instead, e.g. ``n/a (run `audience predict clv`)``."""


def unavailable_text(kind: str) -> str:
    return f"n/a (run `audience predict {kind}`)"


def missing_runs(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Kinds of prediction run the KPIs need that the warehouse does not hold."""
    missing = set()
    if not scalar(con, "SELECT count(*) > 0 FROM prediction_runs WHERE kind = 'clv' AND scored"):
        missing.add("clv")
    if not scalar(
        con,
        f"SELECT count(*) > 0 FROM memberships "
        f"WHERE valid_to IS NULL AND run_id = {_LATEST_CHURN_BANDS}",
    ):
        missing.add("churn")
    return missing


def segment_kpis(con: duckdb.DuckDBPyConnection, run_id: str, kpis: list[str]) -> SegmentKpis:
    """KPIs of every segment of ``run_id``, keyed by segment id.

    Raises :class:`ConfigError` for a name that is no KPI (listing the known ones).
    """
    problem = unknown_kpis_message(kpis)
    if problem:
        raise ConfigError(f"audience.yaml: kpis: {problem}")
    missing = missing_runs(con)
    unavailable = {k: unavailable_text(NEEDS_RUN[k]) for k in kpis if NEEDS_RUN.get(k) in missing}
    computed = [k for k in kpis if k not in unavailable]
    # Only days_to_first_order reads every order line again; otherwise that scan is skipped.
    first_orders = "true" if "days_to_first_order" in computed else "false"
    con.execute(_MEMBERS.format(first_orders=first_orders), [run_id])
    columns = "".join(f", ({KPI_SQL[k]})::DOUBLE AS {k}" for k in computed)
    rows = con.execute(f"SELECT segment_id{columns} FROM _members GROUP BY segment_id").fetchall()
    values: dict[str, dict[str, float | None]] = {}
    for row in rows:
        found = dict(zip(computed, row[1:], strict=True))
        values[str(row[0])] = {
            k: None if found.get(k) is None else round(float(found[k]), 4) for k in kpis
        }
    con.execute("DROP TABLE _members")
    return SegmentKpis(values=values, unavailable=unavailable)
