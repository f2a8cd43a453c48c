"""The segment KPIs ``audience.yaml`` may list, their units, and the defaults of each objective.

What each KPI measures is decided here, once, for every place that shows it (terminal, JSON,
HTML report); how it is computed lives with the SQL in :mod:`audience.segmentation.kpis`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

KpiUnit = Literal["count", "share", "money", "days", "number"]


@dataclass(frozen=True)
class KpiInfo:
    """How a KPI is headed and read: its label, its unit and one sentence on what it is."""

    label: str
    unit: KpiUnit
    description: str


KPIS: dict[str, KpiInfo] = {
    "size": KpiInfo("size", "count", "persons in the segment"),
    "share": KpiInfo("share", "share", "the segment's share of the persons segmented"),
    "revenue": KpiInfo("revenue", "money", "what the members spent in all"),
    "revenue_share": KpiInfo("revenue share", "share", "the segment's share of all revenue"),
    "conversion_rate": KpiInfo(
        "conversion rate", "share", "share of members who ordered in the 90 days before as-of"
    ),
    "average_order_value": KpiInfo(
        "average order value", "money", "revenue over the members' orders"
    ),
    "purchase_frequency": KpiInfo("purchase frequency", "number", "orders per member"),
    "average_recency_days": KpiInfo(
        "average recency days", "days", "mean days since a member's last order"
    ),
    "email_click_rate": KpiInfo("e-mail click rate", "share", "e-mail clicks over opens"),
    "repeat_purchase_rate": KpiInfo(
        "repeat-purchase rate",
        "share",
        "among members who ordered, the share who ordered twice or more",
    ),
    "churn_risk_share": KpiInfo(
        "churn-risk share",
        "share",
        "share of members in the highest band of the latest churn bands",
    ),
    "mean_p_alive": KpiInfo(
        "mean P(alive)", "share", "mean probability that a scored member is still a customer"
    ),
    "mean_clv": KpiInfo("mean CLV", "money", "mean customer lifetime value of the members scored"),
    "total_clv": KpiInfo("total CLV", "money", "sum of the members' customer lifetime values"),
    "clv_share": KpiInfo("CLV share", "share", "the segment's share of the CLV of all segmented"),
    "first_order_conversion": KpiInfo(
        "first-order conversion", "share", "share of members with at least one order"
    ),
    "days_to_first_order": KpiInfo(
        "days to first order",
        "days",
        "median days from sign-up to first order (an order before sign-up counts as 0)",
    ),
}
"""Every KPI a segment can show, in the order the report explains them."""

KPI_NAMES = tuple(KPIS)

COMMON_KPIS = ("size", "share", "revenue_share")
"""Shown whatever the objective."""

OBJECTIVE_KPIS: dict[str, tuple[str, ...]] = {
    "retention": (*COMMON_KPIS, "repeat_purchase_rate", "churn_risk_share", "mean_p_alive"),
    "value": (*COMMON_KPIS, "mean_clv", "total_clv", "clv_share", "average_order_value"),
    "acquisition": (*COMMON_KPIS, "first_order_conversion", "days_to_first_order"),
}
"""The KPIs of a workspace whose ``audience.yaml`` lists none, per objective."""


def unknown_kpis_message(names: Iterable[str]) -> str | None:
    """Why ``names`` are not all KPIs, listing the known ones; None when they all are."""
    unknown = [name for name in names if name not in KPIS]
    if not unknown:
        return None
    return f"unknown KPI {', '.join(unknown)}; known KPIs: {', '.join(KPI_NAMES)}"
