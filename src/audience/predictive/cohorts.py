"""``audience cohorts``: acquisition cohorts × periods since acquisition, in SQL.

A customer's cohort is the month (or ISO week) of her first order in the workspace time
zone; period k holds what the cohort did k months (weeks) later. Retention is the share of
the cohort that ordered in the period, revenue and orders are totals. Periods that had not
begun by the last order day are left empty rather than 0, so that a young cohort does not
look like a collapsing one (the last, current period is partial).

Customers are persons: orders follow their person through ``person_orders`` (after
``audience clean``, a profile and not each record merged into it).
"""

from __future__ import annotations

from typing import Any, Literal

import duckdb
import numpy as np

from audience.predictive.purchases import data_span, local_day

POPULATION_DEFINITION = (
    "persons (profiles after 'audience clean', else customer ids) with at least one order"
)
Period = Literal["month", "week"]
Metric = Literal["retention", "revenue", "orders"]


def cohort_table(
    con: duckdb.DuckDBPyConnection,
    timezone: str,
    by: Period = "month",
    metric: Metric = "retention",
) -> dict[str, Any]:
    """Cohorts with their size and one value per period since acquisition (None: not yet)."""
    if by not in ("month", "week") or metric not in ("retention", "revenue", "orders"):
        raise ValueError(f"unknown cohort period {by!r} or metric {metric!r}")
    _, last = data_span(con, timezone)
    day = local_day("ordered_at", timezone)
    rows = con.sql(
        f"""WITH o AS (
                SELECT customer_id, {day} AS day, total FROM person_orders
            ), c AS (
                SELECT customer_id, date_trunc('{by}', min(day))::DATE AS cohort
                FROM o GROUP BY customer_id
            ), activity AS (
                SELECT c.cohort,
                       date_diff('{by}', c.cohort, date_trunc('{by}', o.day)::DATE) AS period,
                       count(DISTINCT o.customer_id) AS customers,
                       sum(o.total)::DOUBLE AS revenue, count(*) AS orders
                FROM o JOIN c USING (customer_id) GROUP BY ALL
            )
            SELECT a.cohort, s.size, a.period, a.customers, a.revenue, a.orders,
                   date_diff('{by}', a.cohort, date_trunc('{by}', $last::DATE)::DATE) AS seen
            FROM activity a JOIN (SELECT cohort, count(*) AS size FROM c GROUP BY cohort) s
              USING (cohort)
            ORDER BY a.cohort, a.period""",
        params={"last": last},
    ).fetchall()
    table = _pivot(rows, by, metric, last.isoformat())
    table["population"] = sum(c["size"] for c in table["cohorts"])
    table["population_definition"] = POPULATION_DEFINITION
    return table


def _pivot(rows: list[tuple[Any, ...]], by: str, metric: str, last: str) -> dict[str, Any]:
    cohorts = sorted({r[0] for r in rows})
    index = {c: i for i, c in enumerate(cohorts)}
    cols = list(zip(*rows, strict=True)) if rows else [()] * 7
    row_cohort = np.array([index[c] for c in cols[0]], dtype=np.intp)
    period = np.array(cols[2], dtype=np.intp)
    width = int(max(cols[6], default=-1)) + 1
    values = np.zeros((len(cohorts), width))
    sizes = np.zeros(len(cohorts), dtype=np.int64)
    seen = np.zeros(len(cohorts), dtype=np.int64)
    column = {"retention": 3, "revenue": 4, "orders": 5}[metric]
    sizes[row_cohort] = cols[1]
    seen[row_cohort] = cols[6]
    values[row_cohort, period] = np.array(cols[column], dtype=np.float64)
    if metric == "retention":
        values = values / np.maximum(sizes, 1)[:, None]
    label = "%Y-%m" if by == "month" else "%G-W%V"
    return {
        "by": by,
        "metric": metric,
        "last_day": last,
        "periods": list(range(width)),
        "cohorts": [
            {
                "cohort": c.strftime(label),
                "start": c.isoformat(),
                "size": int(sizes[i]),
                "values": [float(v) if k <= seen[i] else None for k, v in enumerate(values[i])],
            }
            for i, c in enumerate(cohorts)
        ],
    }
