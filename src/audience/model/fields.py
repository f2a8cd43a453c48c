"""The fields a rule may test, their types, and where the warehouse keeps them.

Four families, one flat namespace (a live profile uses the same keys), and custom traits:

traits
    From ``profiles`` after ``audience clean``, else from the imported ``customers``.
features
    Every behavioural feature of :data:`FEATURES` (numbers), computed by :mod:`audience.features`.
predictions
    The current scores of the view ``customer_predictions``.
derived
    Timestamps derived from features so that ``within_last`` can test them:
    ``last_order_at = as_of - recency_days`` and ``first_seen_at = as_of - tenure_days``.
custom traits
    ``traits.<name>``: a column of a customer file that maps to no field, typed at import
    (``trait_catalog``; the view ``trait_types`` gives each name its current type). Not in
    :data:`FIELDS`, since they depend on the data: :func:`trait_field` makes their spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from audience.model.conditions import FieldType

FEATURES: dict[str, str] = {
    "recency_days": "Days since the last order (empty when the customer never ordered).",
    "frequency": "Number of orders.",
    "monetary": "Total spent over all orders, net of discounts.",
    "avg_basket": "Average order value.",
    "mean_days_between": "Mean days between consecutive orders (two orders or more).",
    "discount_share": "Share of the gross order value given as discounts.",
    "tenure_days": "Days since the customer was first seen (sign-up, first order or event).",
    "age": "Age in years, from the birth date (empty when unknown).",
    "visits": "Page views and app sessions, decayed by age (engagement half-life).",
    "product_views": "'Product Viewed' events, decayed by age.",
    "cart_adds": "'Product Added' events, decayed by age.",
    "email_opens": "'Email Opened' events, decayed by age.",
    "email_clicks": "'Email Link Clicked' events, decayed by age.",
    "mobile_share": "Share of events sent from a mobile device, shrunk towards the average.",
    "evening_share": "Share of events sent after 18:00, local time.",
    "orders_90d": "Orders in the 90 days before the as-of date.",
    "revenue_90d": "Amount spent in the 90 days before the as-of date.",
}
"""The numeric behavioural features, with what each measures (computed as SQL in features)."""

CATEGORICAL = ("age_band", "region")
"""Context features that are categories (one-hot encoded for clustering), not numbers."""

Family = Literal["trait", "feature", "prediction", "derived", "custom_trait"]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    ftype: FieldType
    family: Family


_TRAITS: dict[str, FieldType] = {
    "email": "string",
    "phone": "string",
    "first_name": "string",
    "last_name": "string",
    "gender": "string",
    "postcode": "string",
    "city": "string",
    "city_insee": "string",
    "dep_code": "string",
    "region": "string",
    "birth_date": "date",
    "signup_at": "timestamp",
    "n_records": "number",
    "sources": "list",
}

TRAIT_PREFIX = "traits."
"""Rules, workflows and feature sets name a custom trait ``traits.<name>``."""

TRAIT_FIELD_TYPES: dict[str, FieldType] = {
    "number": "number",
    "date": "date",
    "boolean": "boolean",
    "category": "string",
    "text": "string",
}
"""How a rule compares each type of custom trait (see :mod:`audience.ingest.traits`)."""


def trait_field(name: str, trait_type: str) -> FieldSpec:
    """The spec of custom trait ``traits.<name>`` of catalogue type ``trait_type``."""
    return FieldSpec(TRAIT_PREFIX + name, TRAIT_FIELD_TYPES[trait_type], "custom_trait")


_PREDICTIONS: dict[str, FieldType] = {
    "p_alive": "number",
    "expected_transactions": "number",
    "expected_order_value": "number",
    "expected_spend": "number",
    "clv": "number",
    "clv_low": "number",
    "clv_high": "number",
    "churn_probability": "number",
    "next_purchase_on": "date",
}

_DERIVED: dict[str, FieldType] = {"last_order_at": "timestamp", "first_seen_at": "timestamp"}


def catalog() -> dict[str, FieldSpec]:
    """Every field a condition may name, by name."""
    fields: dict[str, FieldSpec] = {}
    for family, names in (("trait", _TRAITS), ("prediction", _PREDICTIONS), ("derived", _DERIVED)):
        for name, ftype in names.items():
            fields[name] = FieldSpec(name, ftype, family)  # type: ignore[arg-type]
    for name in FEATURES:
        fields[name] = FieldSpec(name, "number", "feature")
    return fields


FIELDS: dict[str, FieldSpec] = catalog()
"""Built once from constants (no I/O): the catalogue conditions are validated against."""

OPS_BY_TYPE: dict[FieldType, frozenset[str]] = {
    "number": frozenset(
        {"eq", "ne", "lt", "lte", "gt", "gte", "between", "in", "not_in", "exists", "is_null"}
    ),
    "string": frozenset({"eq", "ne", "in", "not_in", "contains", "exists", "is_null"}),
    "date": frozenset(
        {"eq", "ne", "lt", "lte", "gt", "gte", "between", "exists", "is_null", "within_last"}
    ),
    "timestamp": frozenset(
        {"eq", "ne", "lt", "lte", "gt", "gte", "between", "exists", "is_null", "within_last"}
    ),
    "list": frozenset({"contains", "exists", "is_null"}),
    "boolean": frozenset({"eq", "ne", "exists", "is_null"}),
}
"""Which operators make sense on each type; anything else is refused at load time."""

PROPERTY_OPS: dict[str, frozenset[str]] = {
    "number": OPS_BY_TYPE["number"],
    "string": OPS_BY_TYPE["string"],
    "boolean": frozenset({"eq", "ne", "exists", "is_null"}),
}
