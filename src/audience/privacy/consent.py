"""Consent per purpose, as a history: set a status, read the current one, filter by it.

The ``consents`` table keeps every change (customer, purpose, status, time, source); the
current status of a purpose is its latest change (view ``current_consents``, migration 0005;
at equal times a denial or withdrawal wins). After ``audience clean`` the changes of every
record resolved into a person count as hers (view ``person_consents``), so a withdrawal made
under one e-mail address covers the whole person.

Activation sends or exports a person for a purpose only when her current status for it is
``granted`` (:mod:`audience.activation.consent_filter`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from audience.errors import InputError
from audience.store.clock import to_utc_naive
from audience.store.person_relation import person_of
from audience.store.warehouse import scalar

PURPOSES = ("email", "sms", "push", "advertising", "profiling", "analytics")
STATUSES = ("granted", "denied", "withdrawn")


@dataclass(frozen=True)
class ConsentChange:
    customer_id: str
    purpose: str
    status: str
    changed_at: datetime
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "purpose": self.purpose,
            "status": self.status,
            "changed_at": self.changed_at.isoformat(),
            "source": self.source,
        }


def check_choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise InputError(f"unknown consent {what} {value!r}; use one of {', '.join(allowed)}")
    return value


def known_person(con: duckdb.DuckDBPyConnection, customer_id: str) -> bool:
    """Whether the id is an imported record, a profile or a person with features."""
    return bool(
        scalar(
            con,
            """SELECT EXISTS (SELECT 1 FROM customers WHERE customer_id = ?)
                   OR EXISTS (SELECT 1 FROM profiles WHERE profile_id = ?)
                   OR EXISTS (SELECT 1 FROM features WHERE customer_id = ?)""",
            [customer_id] * 3,
        )
    )


def set_consent(
    con: duckdb.DuckDBPyConnection,
    customer_id: str,
    purpose: str,
    status: str,
    *,
    at: datetime,
    source: str = "cli",
) -> ConsentChange:
    """Record a consent change made ``at``; it is current unless a later one exists."""
    check_choice(purpose, PURPOSES, "purpose")
    check_choice(status, STATUSES, "status")
    if not known_person(con, customer_id):
        raise InputError(
            f"unknown customer {customer_id!r}; give an imported customer id or a profile id"
        )
    change = ConsentChange(customer_id, purpose, status, to_utc_naive(at), source)
    con.execute(
        """INSERT INTO consents (customer_id, purpose, status, changed_at, source)
           VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
        [customer_id, purpose, status, change.changed_at, source],
    )
    return change


def consent_history(con: duckdb.DuckDBPyConnection, customer_id: str) -> list[ConsentChange]:
    """Every change of the person the id belongs to, oldest first."""
    rows = con.execute(
        """SELECT record_id, purpose, status, changed_at, source FROM person_consents
           WHERE customer_id = ? ORDER BY changed_at, purpose""",
        [person_of(con, customer_id)],
    ).fetchall()
    return [ConsentChange(*row) for row in rows]


def current_consents(con: duckdb.DuckDBPyConnection, customer_id: str) -> dict[str, str]:
    """Purpose -> current status for the person the id belongs to."""
    rows = con.execute(
        "SELECT purpose, status FROM current_consents WHERE customer_id = ? ORDER BY purpose",
        [person_of(con, customer_id)],
    ).fetchall()
    return {str(purpose): str(status) for purpose, status in rows}
