"""What each kind of file may hold: canonical fields, their types, and usual column names.

A file's columns are matched to canonical fields by an explicit mapping (``--map`` or
``audience.yaml``) first, then by name or by one of the usual French and English aliases.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

FieldType = Literal["id", "text", "timestamp", "date", "decimal", "integer", "bool", "json"]
Kind = Literal["customers", "orders", "events"]
KINDS: tuple[Kind, ...] = ("customers", "orders", "events")


@dataclass(frozen=True)
class FieldSpec:
    """One canonical field of an imported table."""

    name: str
    type: FieldType
    required: bool = False
    aliases: tuple[str, ...] = ()


CUSTOMER_FIELDS = (
    FieldSpec(
        "customer_id",
        "id",
        True,
        (
            "id",
            "id_client",
            "client_id",
            "customer_ref",
            "crm_id",
            "num_client",
            "user_id",
            "ref_client",
            "reference_client",
            "n_client",
            "no_client",
            "numero_client",
            "numero_de_client",
            "code_client",
            "customer_number",
        ),
    ),
    FieldSpec("email", "text", aliases=("e_mail", "courriel", "mail", "adresse_email")),
    FieldSpec("phone", "text", aliases=("telephone", "tel", "mobile", "portable", "phone_number")),
    FieldSpec("first_name", "text", aliases=("prenom", "firstname", "given_name")),
    FieldSpec("last_name", "text", aliases=("nom", "lastname", "surname", "family_name")),
    FieldSpec(
        "birth_date",
        "date",
        aliases=("date_naissance", "date_de_naissance", "birthdate", "dob", "birthday"),
    ),
    FieldSpec("gender", "text", aliases=("civilite", "sexe", "genre", "title")),
    FieldSpec("city", "text", aliases=("ville", "commune", "town")),
    FieldSpec("postcode", "text", aliases=("code_postal", "cp", "zip", "zipcode", "postal_code")),
    FieldSpec("country", "text", aliases=("pays",)),
    FieldSpec(
        "signup_at",
        "timestamp",
        aliases=("date_inscription", "created_at", "signup_date", "date_creation"),
    ),
    FieldSpec("consent_email", "bool", aliases=("optin_email", "opt_in_email", "newsletter")),
    FieldSpec("consent_sms", "bool", aliases=("optin_sms", "opt_in_sms")),
    FieldSpec("consent_push", "bool", aliases=("optin_push", "opt_in_push")),
)

ORDER_FIELDS = (
    FieldSpec(
        "order_id",
        "id",
        False,
        (
            "id_commande",
            "commande",
            "order_ref",
            "num_commande",
            "n_commande",
            "no_commande",
            "numero_commande",
            "numero_de_commande",
            "n_de_commande",
            "ref_commande",
            "reference_commande",
            "order_number",
            "order_no",
            "invoice",
            "order",
        ),
    ),
    FieldSpec("line_no", "integer", aliases=("ligne", "line", "line_number", "num_ligne")),
    FieldSpec(
        "customer_id",
        "id",
        True,
        (
            "id_client",
            "client_id",
            "customer_ref",
            "ref_client",
            "reference_client",
            "n_client",
            "no_client",
            "numero_client",
            "code_client",
            "customer_number",
            "customer",
            "client",
            "user_id",
        ),
    ),
    FieldSpec(
        "ordered_at",
        "timestamp",
        True,
        (
            "date_commande",
            "date_de_commande",
            "date_de_la_commande",
            "order_date",
            "date",
            "created_at",
            "timestamp",
        ),
    ),
    FieldSpec("product_id", "text", aliases=("ref_produit", "sku", "product", "reference")),
    FieldSpec("product_name", "text", aliases=("libelle", "produit", "designation", "name")),
    FieldSpec("category", "text", aliases=("categorie", "famille", "product_category")),
    FieldSpec("quantity", "integer", aliases=("quantite", "qty", "qte", "quantity_ordered")),
    FieldSpec(
        "unit_price",
        "decimal",
        aliases=(
            "prix_unitaire",
            "prix_unitaire_ttc",
            "pu_ttc",
            "prix_unitaire_ht",
            "pu_ht",
            "unit_price_incl_tax",
            "price",
            "prix",
        ),
    ),
    # Tax included first: what the customer paid, as revenue is counted elsewhere.
    FieldSpec(
        "amount",
        "decimal",
        aliases=(
            "montant",
            "montant_ttc",
            "total_ttc",
            "total",
            "line_total",
            "amount_incl_tax",
            "montant_ht",
            "total_ht",
        ),
    ),
    FieldSpec("discount", "decimal", aliases=("remise", "reduction", "discount_amount")),
    FieldSpec("currency", "text", aliases=("devise",)),
    FieldSpec("channel", "text", aliases=("canal", "source_channel")),
)

EVENT_FIELDS = (
    FieldSpec("message_id", "id", False, ("messageid", "message_id", "event_id", "id")),
    FieldSpec("type", "text", True, ("event_type",)),
    FieldSpec("event", "text", aliases=("event_name", "name")),
    FieldSpec("user_id", "id", aliases=("userid", "customer_id", "id_client")),
    FieldSpec("anonymous_id", "id", aliases=("anonymousid", "device_id", "cookie_id")),
    FieldSpec("previous_id", "id", aliases=("previousid",)),
    FieldSpec("timestamp", "timestamp", True, ("originaltimestamp", "ts", "date", "event_time")),
    FieldSpec("sent_at", "timestamp", aliases=("sentat",)),
    FieldSpec("received_at", "timestamp", aliases=("receivedat",)),
    FieldSpec("properties", "json"),
    FieldSpec("traits", "json"),
    FieldSpec("context", "json"),
)


@dataclass(frozen=True)
class Rule:
    """A check beyond types: a row whose values parse but make no sense is quarantined.

    ``fails`` is a SQL condition over the typed fields (and their raw texts ``t_<field>``,
    the currency an amount names ``c_<field>``); ``message`` a SQL expression completing the
    reason. A rule with ``when_mapped`` applies only to files that have that field's column.
    """

    field: str
    code: str
    fails: str
    message: str
    when_mapped: str | None = None


FIELDS: dict[Kind, tuple[FieldSpec, ...]] = {
    "customers": CUSTOMER_FIELDS,
    "orders": ORDER_FIELDS,
    "events": EVENT_FIELDS,
}

EVENT_TYPES = ("track", "identify", "page", "screen", "group", "alias")

_CURRENCIES_NAMED = (
    "list_sort(list_distinct(list_filter([upper(t_currency), c_amount, c_unit_price, "
    "c_discount], lambda x: x IS NOT NULL)))"
)
"""SQL: the currencies an order line names, in its currency column or its amounts."""

RULES: dict[Kind, tuple[Rule, ...]] = {
    "customers": (),
    # A return is an order line with a negative quantity (and a negative or derived amount):
    # a negative amount on any other line is a typo, or a refund written without its quantity.
    "orders": (
        Rule(
            "customer_id",
            "unknown_customer",
            "customer_id IS NOT NULL AND EXISTS (SELECT 1 FROM customers) "
            "AND customer_id NOT IN (SELECT customer_id FROM customers)",
            "'''' || customer_id || ''' is in no imported customer file: import the customers "
            "first, or fix the id (a customer still in the quarantine is unknown too)'",
        ),
        Rule(
            "quantity",
            "missing_quantity",
            "quantity IS NULL AND t_quantity IS NULL",
            "'is empty: write the number of items (only a file without a quantity column "
            "counts one item per line)'",
            when_mapped="quantity",
        ),
        Rule(
            "quantity",
            "bad_value",
            "quantity = 0",
            "'is 0: an order line has at least one item, a return a negative quantity'",
        ),
        Rule(
            "amount",
            "negative_amount",
            "(amount < 0 AND coalesce(quantity, 1) > 0) OR unit_price < 0",
            "'''' || coalesce(t_amount, t_unit_price) || ''' is negative on a line that is no "
            "return: a return has a negative quantity; otherwise write the amount without its "
            "sign'",
        ),
        Rule(
            "amount",
            "bad_value",
            "amount > 0 AND quantity < 0",
            "'is positive on a return (quantity ' || quantity || '): write the amount of a "
            "return with its minus sign'",
        ),
        Rule(
            "amount",
            "missing",
            "amount IS NULL AND unit_price IS NULL AND t_amount IS NULL AND t_unit_price IS NULL",
            "'an order line needs an amount or a unit price'",
        ),
        Rule(
            "currency",
            "currency_mismatch",
            f"len({_CURRENCIES_NAMED}) > 1",
            f"'the line names several currencies (' || array_to_string({_CURRENCIES_NAMED}, "
            "', ') || '): the currency column and the signs or codes of its amounts must "
            "agree; fix the amount or the currency'",
        ),
    ),
    "events": (
        Rule(
            "type",
            "bad_value",
            f"lower(type) NOT IN {EVENT_TYPES}",
            "type || ' is not a Segment type'",
        ),
        Rule(
            "user_id",
            "missing",
            "user_id IS NULL AND anonymous_id IS NULL",
            "'an event needs a userId or an anonymousId'",
        ),
        Rule(
            "event",
            "missing",
            "lower(type) = 'track' AND event IS NULL",
            "'a track event needs an event name'",
        ),
        Rule(
            "previous_id",
            "missing",
            "lower(type) = 'alias' AND previous_id IS NULL",
            "'an alias event needs a previousId'",
        ),
    ),
}
"""The declarative checks of each table, beyond the types and required fields of FIELDS."""


EARLIEST_DATE = date(1900, 1, 1)
"""No date or time before it is plausible: not a birth date, an order, a sign-up or an event."""

FUTURE_YEARS = 5
"""How far after the import a time (an order, a sign-up, an event) may lie.

Later is a typo (2062 for 2026, 3026) or a placeholder (2099-12-31, 9999-12-31). Up to five
years ahead is let through: a workspace whose clock is set back (a backtest or a replay on a
:class:`~audience.store.clock.FixedClock`, the test suites run four years back) still imports
its data. A date (a birth date) may not lie after the import's own day at all.
"""


@dataclass(frozen=True)
class DateBounds:
    """The plausible span of the dates and times of one import."""

    now: datetime
    """The import's time, UTC."""
    earliest: date
    latest_day: date
    """The import's day in the workspace's zone: the last plausible date."""
    latest_time: datetime
    """The last plausible time, UTC."""

    @classmethod
    def at(cls, now: datetime, timezone: str) -> DateBounds:
        """Bounds of an import at ``now`` (UTC without a zone) in a workspace in ``timezone``."""
        today = now.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()
        try:
            latest = now.replace(year=now.year + FUTURE_YEARS)
        except ValueError:  # 29 February
            latest = now.replace(year=now.year + FUTURE_YEARS, day=28)
        return cls(now, EARLIEST_DATE, today, latest)


def normalise_column_name(name: str) -> str:
    """'Date de naissance' -> 'date_de_naissance', 'E-mail' -> 'e_mail', 'userId' -> 'userid'."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", folded.strip().lower()).strip("_")
