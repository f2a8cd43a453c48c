"""Consent, erasure, suppression, pseudonymisation, retention, access and the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.privacy.access import person_data
    from audience.privacy.audit import AuditEntry, entries
    from audience.privacy.consent import (
        ConsentChange,
        consent_history,
        current_consents,
        set_consent,
    )
    from audience.privacy.erasure import erase_tables, load_persons
    from audience.privacy.locate import Located, Person
    from audience.privacy.profiling import profiling_allowed, withhold_scores
    from audience.privacy.receipts import Receipt, StoreReceipt
    from audience.privacy.retention import apply_retention
    from audience.privacy.suppression import suppress, unsuppress

__all__ = [
    "AuditEntry",
    "ConsentChange",
    "Located",
    "Person",
    "Receipt",
    "StoreReceipt",
    "apply_retention",
    "consent_history",
    "current_consents",
    "entries",
    "erase_tables",
    "load_persons",
    "person_data",
    "profiling_allowed",
    "set_consent",
    "suppress",
    "unsuppress",
    "withhold_scores",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "AuditEntry": "audit",
    "ConsentChange": "consent",
    "Located": "locate",
    "Person": "locate",
    "Receipt": "receipts",
    "StoreReceipt": "receipts",
    "apply_retention": "retention",
    "consent_history": "consent",
    "current_consents": "consent",
    "entries": "audit",
    "erase_tables": "erasure",
    "load_persons": "erasure",
    "person_data": "access",
    "profiling_allowed": "profiling",
    "set_consent": "consent",
    "suppress": "suppression",
    "unsuppress": "suppression",
    "withhold_scores": "profiling",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
