"""Thresholds of a decision-tree path written the way a marketer reads them.

``recency_days ≤ 21.37`` becomes ``recency ≤ 21 days``; ``frequency > 5.5`` on a count becomes
``orders ≥ 6``; two thresholds on one feature become an interval (``3 ≤ orders ≤ 5``); shares
are percentages. Only the display changes: an integer feature split at 5.5 selects exactly the
customers with 6 or more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

DISPLAY_NAMES = {
    "recency_days": "recency",
    "frequency": "orders",
    "monetary": "spend",
    "avg_basket": "average basket",
    "mean_days_between": "days between orders",
    "tenure_days": "tenure",
    "orders_90d": "orders in the last 90 days",
    "revenue_90d": "spend in the last 90 days",
}


@dataclass(frozen=True)
class Bound:
    """An interval ``low < x <= high`` (None: unbounded) and whether a missing x is inside."""

    low: float | None = None
    high: float | None = None
    missing: bool = True

    def below(self, threshold: float, missing_follows: bool) -> Bound:
        if math.isinf(threshold):  # the tree's split of known values from missing ones
            return Bound(self.low, self.high, self.missing and missing_follows)
        high = threshold if self.high is None else min(self.high, threshold)
        return Bound(self.low, high, self.missing and missing_follows)

    def above(self, threshold: float, missing_follows: bool) -> Bound:
        low = threshold if self.low is None else max(self.low, threshold)
        return Bound(low, self.high, self.missing and missing_follows)


def describe_bounds(
    bounds: Mapping[str, Bound],
    units: Mapping[str, str],
    integral: Mapping[str, bool],
    minimum: Mapping[str, float] | None = None,
) -> str:
    """Every feature's interval, joined by 'and', in the order the tree first tested them.

    ``minimum`` (smallest value seen per feature) turns ``orders ≤ 0`` into ``orders = 0``.
    """
    floor = minimum or {}
    return " and ".join(
        _describe(name, bound, _unit(name, units), integral.get(name, False), floor.get(name))
        for name, bound in bounds.items()
    )


def _unit(name: str, units: Mapping[str, str]) -> str:
    if name in units:
        return units[name]
    if name.endswith("_days") or "_days_" in name:
        return "days"
    if name.endswith("_share"):
        return "%"
    return ""


def _describe(
    name: str, bound: Bound, unit: str, integral: bool, minimum: float | None = None
) -> str:
    label = DISPLAY_NAMES.get(name, name.replace("_", " "))
    if bound.low is not None and math.isinf(bound.low):
        return f"{label} unknown"
    if bound.low is None and bound.high is None:
        return f"{label} known" if not bound.missing else f"any {label}"
    if integral and unit != "%":
        if bound.low is None and minimum is not None and math.isfinite(minimum):
            bound = Bound(minimum - 0.5, bound.high, bound.missing)  # the range starts there
        text = _integer_interval(label, bound, unit)
    else:
        low = None if bound.low is None else _number(bound.low, unit)
        high = None if bound.high is None else _number(bound.high, unit)
        if low is not None and high is not None:
            text = f"{low} < {label} ≤ {high}"
        elif high is not None:
            text = f"{label} ≤ {high}"
        else:
            text = f"{label} > {low}"
    return f"{text} (or unknown)" if bound.missing else text


def _integer_interval(label: str, bound: Bound, unit: str) -> str:
    """Integer-valued features: x > 5.5 is x ≥ 6 and x ≤ 5.5 is x ≤ 5."""
    low = None if bound.low is None else math.floor(bound.low) + 1
    high = None if bound.high is None else math.floor(bound.high)
    suffix = f" {unit}" if unit else ""
    if low is not None and high is not None:
        if low == high:
            return f"{label} = {low:,}{suffix}"
        return f"{low:,} ≤ {label} ≤ {high:,}{suffix}"
    if high is not None:
        return f"{label} ≤ {high:,}{suffix}"
    return f"{label} ≥ {low:,}{suffix}"


def _number(value: float, unit: str) -> str:
    if unit == "%":
        return f"{_round(100 * value)}%"
    return f"{_round(value)} {unit}" if unit else _round(value)


def _round(value: float) -> str:
    """Three significant figures at most, thousands separated, no trailing zeros."""
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{round(value):,}"
    if magnitude >= 10:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2f}".rstrip("0").rstrip(".")
