"""Figures as the terminal prints them: plain, with thousands separators, never scientific.

One style for every command: ``1,040.50 EUR`` (English separators, the ISO currency code after
the amount, which reads the same for every currency), ``12,345`` for counts, ``20.5%`` for
shares. ``--json`` keeps the raw values; these are for people.
"""

from __future__ import annotations

import math

MISSING = "—"

MONEY_FEATURES = frozenset(
    {"monetary", "avg_basket", "revenue_90d", "revenue_365d", "avg_order_value"}
)
"""Behavioural features that are amounts in the workspace currency."""


def count(value: float | None) -> str:
    """A whole number: ``12,345``."""
    if value is None or _not_finite(value):
        return MISSING
    return f"{round(value):,}"


def money(value: float | None, currency: str, *, cents: bool = True) -> str:
    """An amount with its currency: ``1,040.50 EUR`` (``1,041 EUR`` without cents)."""
    if value is None or _not_finite(value):
        return MISSING
    return f"{value:,.{2 if cents else 0}f} {currency}"


def amount(value: float | None) -> str:
    """An amount in a table whose header names the currency: ``1,040.50``."""
    if value is None or _not_finite(value):
        return MISSING
    return f"{value:,.2f}"


def share(value: float | None, decimals: int = 1) -> str:
    """A fraction as a percentage: ``0.205`` -> ``20.5%``."""
    if value is None or _not_finite(value):
        return MISSING
    return f"{100 * value:,.{decimals}f}%"


def number(value: float | None) -> str:
    """Any other measure, in plain figures with about three significant digits.

    ``2,517``, ``150``, ``35.8``, ``0.0173``: large values keep every digit of their whole
    part (a figure is never cut to ``2.52e+03``), small ones as many decimals as they need.
    """
    if value is None or _not_finite(value):
        return MISSING
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= 2:
        return f"{value:,.0f}"
    decimals = min(6, 2 - magnitude)
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def kpi_unit(name: str) -> str:
    """The unit of a segment KPI: count, share, money, days or number."""
    # Imported here: the configuration package loads pydantic, which no command needs to start.
    from audience.config.kpis import KPIS

    return KPIS[name].unit


def kpi(name: str, value: float | None, currency: str) -> str:
    """A segment KPI (``audience.yaml`` ``kpis``) in the unit it is measured in."""
    unit = kpi_unit(name)
    if unit == "share":
        return share(value)
    if unit == "count":
        return count(value)
    if unit == "money":
        return money(value, currency)
    return number(value)


def feature(name: str, value: float | None, currency: str) -> str:
    """A behavioural feature's value (a mean, a median): amounts with their currency."""
    if name in MONEY_FEATURES:
        return money(value, currency)
    return number(value)


def _not_finite(value: float) -> bool:
    return isinstance(value, float) and not math.isfinite(value)
