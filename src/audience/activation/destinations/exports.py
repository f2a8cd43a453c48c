"""Segment exports: plain CSV or JSON, and the contact-import CSVs of two marketing tools.

Each export holds the segment's *current* members with a current grant for the destination's
purpose; everyone else is counted by reason (``no_consent``, ``denied``, ``withdrawn``, and
``missing_email`` / ``missing_phone`` where the tool cannot import a contact without it).
The file is written by the warehouse (``COPY``), sorted by customer id. In the CSV formats a
text cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) is written after a single quote (:mod:`audience.store.spreadsheet`);
JSON keeps every value as it is.

Columns
-------
``csv`` / ``json``
    ``customer_id``, ``segment_id``, ``segment`` (name), ``entered_at`` (membership start,
    UTC), ``channel`` / ``template`` / ``campaign`` (from the workflow, when set), then the
    workflow's ``fields`` (profile traits, features, scores by catalogue name).
``hubspot`` (contact import; headers match HubSpot's default contact property labels so the
    import wizard maps them itself; the three ``Audience ...`` columns need custom contact
    properties of those names, or can be skipped in the wizard)
    ``Email`` (trait email; required, HubSpot de-duplicates contacts on it), ``First Name``,
    ``Last Name``, ``Phone Number``, ``City``, ``Postal Code`` (traits first_name, last_name,
    phone, city, postcode), ``Audience Segment`` (segment name), ``Audience Segment Entered``
    (YYYY-MM-DD, UTC), ``Audience Customer ID`` (customer_id), and ``Audience Campaign`` when
    the workflow names a campaign.
``google_customer_match`` / ``meta_audience`` (advertising audiences, purpose advertising)
    ``Email``, ``Phone`` (SHA-256 of the trimmed lower-case e-mail and of the E.164 phone),
    ``Zip`` (clear, as Google wants it) / ``email``, ``phone`` (SHA-256 of the digits with
    the country code), ``zip`` (SHA-256): no identifier leaves in clear.
``sfmc`` (Salesforce Marketing Cloud data extension; import with "infer mapping from column
    headings", fields of these names in the data extension)
    ``SubscriberKey`` (customer_id), ``EmailAddress`` (email; required when the purpose is
    email), ``FirstName``, ``LastName``, ``MobileNumber`` (phone, digits only as Marketing
    Cloud wants it; required when the purpose is sms), ``City``, ``PostalCode``,
    ``SegmentName``, ``SegmentEnteredDate`` (``YYYY-MM-DD HH:MM:SS``, UTC: set the import's
    date format accordingly), and ``CampaignId`` when the workflow names a campaign.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from audience.activation.consent_filter import suppression_sql
from audience.config.activation import FileDestination, WorkflowSpec
from audience.model.activation_plan import META_FIELDS
from audience.store.person_relation import people_sql
from audience.store.spreadsheet import spreadsheet_safe
from audience.store.sql import ident, literal
from audience.store.warehouse import scalar

_HUBSPOT = [
    ("Email", "email"),
    ("First Name", "first_name"),
    ("Last Name", "last_name"),
    ("Phone Number", "phone"),
    ("City", "city"),
    ("Postal Code", "postcode"),
]
_SFMC = [
    ("SubscriberKey", "customer_id"),
    ("EmailAddress", "email"),
    ("FirstName", "first_name"),
    ("LastName", "last_name"),
    ("MobileNumber", "regexp_replace(phone, '[^0-9]', '', 'g')"),
    ("City", "city"),
    ("PostalCode", "postcode"),
]
_EXTENSIONS = {
    "csv": "csv",
    "json": "json",
    "hubspot": "csv",
    "sfmc": "csv",
    "google_customer_match": "csv",
    "meta_audience": "csv",
}
_ID_COLUMN = {
    "hubspot": "Audience Customer ID",
    "sfmc": "SubscriberKey",
    "google_customer_match": "Email",
    "meta_audience": "email",
}
# Advertising audiences carry no identifier in clear: SHA-256 (hex, lower case) of the
# e-mail trimmed and lower-cased, and of the phone in E.164 (Google: with '+'; Meta: digits
# only, country code first), as both platforms' upload guides ask. NULL stays empty.
_SHA_EMAIL = "CASE WHEN email IS NOT NULL THEN sha256(lower(trim(email))) END"
_AD_COLUMNS = {
    "google_customer_match": [
        ("Email", _SHA_EMAIL),
        ("Phone", "CASE WHEN phone LIKE '+%' THEN sha256(phone) END"),
        ("Zip", "coalesce(postcode, '')"),
    ],
    "meta_audience": [
        ("email", _SHA_EMAIL),
        (
            "phone",
            "CASE WHEN phone LIKE '+%' THEN sha256(regexp_replace(phone, '[^0-9]', '', 'g')) END",
        ),
        ("zip", "sha256(lower(replace(postcode, ' ', '')))"),
    ],
}
"""The column holding customer_id in each format's file (files are sorted on it)."""


@dataclass
class ExportResult:
    destination: str
    segment_id: str
    format: str
    path: Path | None
    rows: int
    suppressed: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "segment_id": self.segment_id,
            "format": self.format,
            "path": str(self.path) if self.path else None,
            "rows": self.rows,
            "suppressed": dict(self.suppressed),
        }


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "segment"


def export_path(root: Path, destination: FileDestination, segment: str, now: datetime) -> Path:
    """The file of one export: the destination's path pattern, relative to the workspace."""
    relative = destination.path.format(
        destination=_slug(destination.name),
        segment=_slug(segment),
        timestamp=f"{now:%Y%m%dT%H%M%S}",
        ext=_EXTENSIONS[destination.type],
    )
    return root / relative


def _needed_fields(destination: FileDestination, workflow: WorkflowSpec) -> list[str]:
    if destination.type in _AD_COLUMNS:
        return ["email", "phone", "postcode"]
    if destination.type == "hubspot":
        return [f for _, f in _HUBSPOT]
    if destination.type == "sfmc":
        return ["email", "first_name", "last_name", "phone", "city", "postcode"]
    return [f for f in workflow.fields if f not in META_FIELDS]


def _contact_check(destination: FileDestination) -> str:
    """SQL reason a row cannot be imported by the tool at all, or NULL."""
    if destination.type == "hubspot" or (
        destination.type == "sfmc" and destination.purpose == "email"
    ):
        return "CASE WHEN email IS NULL OR email = '' THEN 'missing_email' END"
    if destination.type == "sfmc" and destination.purpose == "sms":
        return "CASE WHEN phone IS NULL OR phone = '' THEN 'missing_phone' END"
    if destination.type in _AD_COLUMNS:
        no_contact = "coalesce(email, '') = '' AND coalesce(phone, '') = ''"
        return f"CASE WHEN {no_contact} THEN 'missing_contact' END"
    return "NULL"


def _columns(destination: FileDestination, workflow: WorkflowSpec, segment: str) -> list[str]:
    name = literal(segment)
    campaign = literal(workflow.campaign) if workflow.campaign else None
    if destination.type in _AD_COLUMNS:
        return [f"{expr} AS {ident(h)}" for h, expr in _AD_COLUMNS[destination.type]]
    if destination.type == "hubspot":
        cols = [f"{ident(f)} AS {ident(h)}" for h, f in _HUBSPOT]
        cols += [
            f'{name} AS "Audience Segment"',
            "strftime(entered_at, '%Y-%m-%d') AS \"Audience Segment Entered\"",
            'customer_id AS "Audience Customer ID"',
        ]
        return cols + ([f'{campaign} AS "Audience Campaign"'] if campaign else [])
    if destination.type == "sfmc":
        cols = [f"{expr} AS {ident(h)}" for h, expr in _SFMC]
        cols += [
            f'{name} AS "SegmentName"',
            "strftime(entered_at, '%Y-%m-%d %H:%M:%S') AS \"SegmentEnteredDate\"",
        ]
        return cols + ([f'{campaign} AS "CampaignId"'] if campaign else [])
    cols = ["customer_id", "segment_id", f"{name} AS segment", "entered_at"]
    for key in ("channel", "template", "campaign"):
        value = getattr(workflow, key)
        if value is not None:
            cols.append(f"{literal(value)} AS {key}")
    return cols + [ident(f) for f in workflow.fields if f not in META_FIELDS]


def export_segment(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    destination: FileDestination,
    workflow: WorkflowSpec,
    segment_id: str,
    segment: str,
    now: datetime,
    *,
    dry_run: bool = False,
) -> ExportResult:
    """Write the segment's current, consenting members to the destination's file.

    A dry run counts what would be written and suppressed, and writes nothing.
    """
    needed = _needed_fields(destination, workflow)
    people = people_sql(con, needed)
    picked = "".join(f", p.{ident(f)}" for f in dict.fromkeys(needed))
    members = f"""SELECT m.customer_id, m.segment_id, m.valid_from AS entered_at{picked}
                  FROM memberships m LEFT JOIN ({people}) p USING (customer_id)
                  WHERE m.segment_id = {literal(segment_id)} AND m.valid_to IS NULL"""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _export AS
        SELECT *, coalesce(suppressed, {_contact_check(destination)}) AS why_not
        FROM ({suppression_sql(members, destination.purpose)})""")
    counts = con.execute(
        "SELECT why_not, count(*) FROM _export WHERE why_not IS NOT NULL GROUP BY ALL"
    ).fetchall()
    result = ExportResult(
        destination.name,
        segment_id,
        destination.type,
        None,
        int(scalar(con, "SELECT count(*) FROM _export WHERE why_not IS NULL")),
        {str(k): int(n) for k, n in counts},
    )
    if not dry_run:
        result.path = export_path(root, destination, segment, now)
        _write(con, destination, workflow, segment, result, now)
    con.execute("DROP TABLE _export")
    return result


def _write(
    con: duckdb.DuckDBPyConnection,
    destination: FileDestination,
    workflow: WorkflowSpec,
    segment: str,
    result: ExportResult,
    now: datetime,
) -> None:
    """The kept rows of ``_export`` to the file, by the warehouse; the export recorded."""
    assert result.path is not None
    result.path.parent.mkdir(parents=True, exist_ok=True)
    query = (
        f"SELECT {', '.join(_columns(destination, workflow, segment))} FROM _export "
        "WHERE why_not IS NULL"
    )
    json_ = destination.type == "json"
    if json_:  # values as they are: JSON is not opened by spreadsheets
        query += " ORDER BY customer_id"
    else:  # text cells that would start a formula in a spreadsheet are defused
        id_column = _ID_COLUMN.get(destination.type, "customer_id")
        query = spreadsheet_safe(con, query, order_by=[id_column])
    options = "FORMAT json, ARRAY true" if json_ else "HEADER, DELIMITER ','"
    con.execute(f"COPY ({query}) TO {literal(str(result.path))} ({options})")
    con.execute(
        "INSERT INTO exports VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            f"exp-{secrets.token_hex(6)}",
            destination.name,
            result.segment_id,
            destination.type,
            str(result.path),
            result.rows,
            json.dumps(result.suppressed),
            now,
        ],
    )
