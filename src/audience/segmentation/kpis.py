"""Marketing KPIs per segment, computed in the warehouse from memberships and features."""

from __future__ import annotations

import duckdb

KPI_SQL: dict[str, str] = {
    "size": "count(*)",
    "share": "count(*) / (SELECT count(*) FROM _members)",
    "conversion_rate": "avg(CASE WHEN f.orders_90d > 0 THEN 1.0 ELSE 0.0 END)",
    "average_order_value": "sum(f.monetary) / nullif(sum(f.frequency), 0)",
    "purchase_frequency": "avg(f.frequency)",
    "revenue": "sum(f.monetary)",
    "revenue_share": "sum(f.monetary) / nullif((SELECT sum(monetary) FROM features), 0)",
    "average_recency_days": "avg(f.recency_days)",
    "email_click_rate": "sum(f.email_clicks) / nullif(sum(f.email_opens), 0)",
}
"""How each KPI is computed over a segment's members ``f`` (rows of ``features``).

conversion_rate is the share of members who ordered in the 90 days before the as-of date;
average_order_value is revenue over orders; purchase_frequency is orders per member.
"""


def segment_kpis(
    con: duckdb.DuckDBPyConnection, run_id: str, kpis: list[str]
) -> dict[str, dict[str, float | None]]:
    """KPIs of every segment of ``run_id``, keyed by segment id."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _members AS "
        "SELECT customer_id, segment_id FROM memberships WHERE run_id = ? AND valid_to IS NULL",
        [run_id],
    )
    columns = ", ".join(f"({KPI_SQL[k]})::DOUBLE AS {k}" for k in kpis)
    rows = con.execute(
        f"""SELECT m.segment_id, {columns}
            FROM _members m JOIN features f USING (customer_id)
            GROUP BY m.segment_id"""
    ).fetchall()
    return {
        str(row[0]): {
            k: (None if v is None else round(float(v), 4))
            for k, v in zip(kpis, row[1:], strict=True)
        }
        for row in rows
    }
