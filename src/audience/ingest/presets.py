"""CRM export presets: the columns of a standard export of each tool, as data.

``audience import customers|orders FILE --preset NAME`` maps the columns a tool writes in its
standard export without any ``--map``. A preset says, per kind of file, which column holds each
field (the first of several spellings present in the file wins), what its consent columns
mean. How each tool writes dates is noted below: the date reader recognises those formats
by itself. Precedence: ``--map`` > preset > ``audience.yaml`` mappings > usual names and
aliases (:func:`audience.ingest.mapping.resolve_mapping`); a column the preset names but the
file lacks is simply not mapped.

Exports targeted (column names as the tools write them; no real data was used):

- ``hubspot``: HubSpot CRM, Contacts > Export (all properties or the default view), CSV.
  Booleans ``true``/``false``; dates ``YYYY-MM-DD HH:MM`` in the portal's time zone.
- ``salesforce``: Salesforce Contact object exported with Data Loader (or Data Export), API
  field names. Booleans ``true``/``false``; ``Birthdate`` ``YYYY-MM-DD``; ``CreatedDate``
  ISO 8601 in UTC (``2024-03-02T10:15:00.000Z``, ``+0000`` in some tools).
- ``shopify``: Shopify admin, Customers > Export (CSV for Excel or plain CSV) and
  Orders > Export. Customers: ``Accepts Email Marketing``/``Accepts SMS Marketing`` are
  ``yes``/``no``. Orders: one row per line item; ``Name`` (``#1001``) is the order id; the
  export has no customer id, so the customer is the order's ``Email``; import the customers
  export with ``--map customer_id=Email`` for the two to meet. Order-level columns
  (``Currency``, totals) are filled on the first line of an order only; ``Total`` is the
  order's total, so it is not mapped (a line's amount is its price times its quantity).
  ``Created at`` reads ``2025-03-14 13:45:12 +0100``.
- ``brevo``: Brevo (ex-Sendinblue), Contacts > Export contacts, CSV. Attribute names follow
  the account's language (``FIRSTNAME`` or ``PRENOM``); ``EMAIL_BLACKLISTED`` and
  ``SMS_BLACKLISTED`` say a contact unsubscribed; ``ADDED_TIME`` is when it was created,
  ``DD-MM-YYYY HH:MM:SS`` in a French account. Brevo exports have no id beyond the e-mail
  (``EXT_ID`` is often empty), so the customer id is ``EMAIL``; ``--map customer_id=EXT_ID``
  where the account fills it.

Consent columns have one of three meanings (:data:`ConsentMeaning`):

- ``opt_in``: true grants, false denies (Shopify's "Accepts Email Marketing");
- ``opt_out``: true withdraws (or denies, if never granted); false says nothing, since not
  having opted out is not consent (Salesforce ``HasOptedOutOfEmail``, HubSpot "Unsubscribed
  from all email");
- ``blocklist``: true withdraws, false grants: a contact of a mailing tool is there because
  it subscribed, until it is blocklisted (Brevo ``EMAIL_BLACKLISTED``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from audience.errors import InputError, MappingError
from audience.ingest.schemas import FIELDS, Kind, normalise_column_name

ConsentMeaning = Literal["opt_in", "opt_out", "blocklist"]
MEANINGS: dict[str, str] = {
    "opt_in": "an opt-in: yes grants consent, no denies it",
    "opt_out": "an opt-out: true withdraws consent, false grants nothing",
    "blocklist": "a blocklist: true withdraws consent, false grants it",
}


@dataclass(frozen=True)
class ConsentColumn:
    """A column saying whether a person may be contacted for one purpose."""

    field: str
    """The consent field it fills (``consent_email``, ``consent_sms``, ``consent_push``)."""
    columns: tuple[str, ...]
    meaning: ConsentMeaning


@dataclass(frozen=True)
class KindPreset:
    """How a tool's export of one kind of file maps to the canonical fields."""

    export: str
    """The export this targets, as the tool names it."""
    columns: Mapping[str, tuple[str, ...]]
    """Field -> the column names the tool writes for it, the first present wins."""
    consents: tuple[ConsentColumn, ...] = ()
    reserved: tuple[str, ...] = ()
    """Columns whose names look like a field they are not: never matched by name."""


@dataclass(frozen=True)
class Preset:
    name: str
    tool: str
    kinds: Mapping[Kind, KindPreset]


PRESETS: dict[str, Preset] = {
    "hubspot": Preset(
        "hubspot",
        "HubSpot",
        {
            "customers": KindPreset(
                "Contacts export",
                {
                    "customer_id": ("Record ID", "Contact ID"),
                    "email": ("Email",),
                    "phone": ("Phone Number", "Mobile Phone Number"),
                    "first_name": ("First Name",),
                    "last_name": ("Last Name",),
                    "birth_date": ("Date of birth",),
                    "gender": ("Gender",),
                    "city": ("City",),
                    "postcode": ("Postal Code", "Zip"),
                    "country": ("Country/Region", "Country"),
                    "signup_at": ("Create Date",),
                },
                (
                    ConsentColumn(
                        "consent_email",
                        ("Unsubscribed from all email", "Opted out of all email"),
                        "opt_out",
                    ),
                ),
            ),
        },
    ),
    "salesforce": Preset(
        "salesforce",
        "Salesforce",
        {
            "customers": KindPreset(
                "Contact object, Data Loader export (API field names)",
                {
                    "customer_id": ("Id",),
                    "email": ("Email",),
                    "phone": ("MobilePhone", "Phone"),
                    "first_name": ("FirstName",),
                    "last_name": ("LastName",),
                    "birth_date": ("Birthdate",),
                    "gender": ("Salutation",),
                    "city": ("MailingCity",),
                    "postcode": ("MailingPostalCode",),
                    "country": ("MailingCountry",),
                    "signup_at": ("CreatedDate",),
                },
                (ConsentColumn("consent_email", ("HasOptedOutOfEmail",), "opt_out"),),
                reserved=("Title",),  # a job title, not a civility
            ),
        },
    ),
    "shopify": Preset(
        "shopify",
        "Shopify",
        {
            "customers": KindPreset(
                "Customers export",
                {
                    "customer_id": ("Customer ID",),
                    "email": ("Email",),
                    "phone": ("Phone", "Default Address Phone"),
                    "first_name": ("First Name",),
                    "last_name": ("Last Name",),
                    "city": ("Default Address City",),
                    "postcode": ("Default Address Zip",),
                    "country": ("Default Address Country Code",),
                },
                (
                    ConsentColumn("consent_email", ("Accepts Email Marketing",), "opt_in"),
                    ConsentColumn("consent_sms", ("Accepts SMS Marketing",), "opt_in"),
                ),
            ),
            "orders": KindPreset(
                "Orders export",
                {
                    "order_id": ("Name",),
                    "customer_id": ("Email",),
                    "ordered_at": ("Created at",),
                    "product_id": ("Lineitem sku",),
                    "product_name": ("Lineitem name",),
                    "quantity": ("Lineitem quantity",),
                    "unit_price": ("Lineitem price",),
                    "discount": ("Lineitem discount",),
                    "currency": ("Currency",),
                    "channel": ("Source",),
                },
                # Order-level figures, on an order's first line only: not a line's amount.
                reserved=("Total", "Subtotal", "Discount Amount", "Shipping", "Taxes"),
            ),
        },
    ),
    "brevo": Preset(
        "brevo",
        "Brevo",
        {
            "customers": KindPreset(
                "Contacts export",
                {
                    "customer_id": ("EMAIL",),
                    "email": ("EMAIL",),
                    "phone": ("SMS", "LANDLINE_NUMBER"),
                    "first_name": ("FIRSTNAME", "PRENOM"),
                    "last_name": ("LASTNAME", "NOM"),
                    "signup_at": ("ADDED_TIME",),
                },
                (
                    ConsentColumn(
                        "consent_email", ("EMAIL_BLACKLISTED", "Blacklisted"), "blocklist"
                    ),
                    ConsentColumn("consent_sms", ("SMS_BLACKLISTED",), "blocklist"),
                ),
            ),
        },
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; an InputError naming the known ones otherwise."""
    preset = PRESETS.get(name.strip().lower())
    if preset is None:
        raise InputError(f"--preset {name}: unknown preset; known: {', '.join(PRESETS)}")
    return preset


def _kind_preset(name: str, kind: Kind) -> KindPreset:
    preset = get_preset(name)
    found = preset.kinds.get(kind)
    if found is None:
        raise MappingError(
            f"--preset {preset.name}: {preset.tool} has no {kind} export this preset reads; "
            f"it reads {', '.join(preset.kinds)}"
        )
    return found


@dataclass(frozen=True)
class PresetMatch:
    """What a preset found in one file."""

    preset: Preset
    spec: KindPreset
    mapping: dict[str, str]
    """Field -> column of the file, for the fields the preset found."""
    reserved: tuple[str, ...]
    """Columns of the file that no field may take by its name."""

    def consent_meanings(self, mapping: Mapping[str, str]) -> dict[str, ConsentMeaning]:
        """Consent field -> meaning, where the final ``mapping`` took the preset's column.

        A consent field mapped by ``--map`` to another column keeps the plain ``opt_in``.
        """
        return {
            c.field: c.meaning
            for c in self.spec.consents
            if c.meaning != "opt_in" and mapping.get(c.field) == self.mapping.get(c.field)
        }


def match_preset(
    name: str | None, kind: Kind, columns: Sequence[str], given: Collection[str] = ()
) -> PresetMatch | None:
    """The fields preset ``name`` finds in ``columns`` (None without a preset).

    Headers are matched as :func:`~audience.ingest.schemas.normalise_column_name` sees them
    (case, accents and punctuation aside). A file with none of the preset's columns, or
    without its column for a required field not ``given`` by ``--map``, is not that tool's
    export: a MappingError says so rather than importing it half-mapped.
    """
    if name is None:
        return None
    preset = get_preset(name)
    spec = _kind_preset(name, kind)
    present = {normalise_column_name(c): c for c in columns}
    wanted = {**spec.columns, **{c.field: c.columns for c in spec.consents}}
    mapping: dict[str, str] = {}
    for target, candidates in wanted.items():
        found = (present.get(normalise_column_name(c)) for c in candidates)
        column = next((c for c in found if c is not None), None)
        if column is not None:
            mapping[target] = column
    if not mapping:
        expected = ", ".join(names[0] for names in spec.columns.values())
        raise MappingError(
            f"--preset {preset.name}: this file has none of the columns of a {preset.tool} "
            f"{spec.export} ({expected}); columns present: {', '.join(columns)}"
        )
    required = {s.name for s in FIELDS[kind] if s.required}
    lacking = [f for f in spec.columns if f in required and f not in mapping and f not in given]
    if lacking:
        named = ", ".join(f"{spec.columns[f][0]} ({f})" for f in lacking)
        raise MappingError(
            f"--preset {preset.name}: no column {named}: is it a {preset.tool} {spec.export}? "
            f"Columns present: {', '.join(columns)}; or give it with --map {lacking[0]}=COLUMN"
        )
    reserved = tuple(
        present[normalise_column_name(c)]
        for c in spec.reserved
        if normalise_column_name(c) in present
    )
    return PresetMatch(preset, spec, mapping, reserved)
