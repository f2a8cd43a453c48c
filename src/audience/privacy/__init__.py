"""Consent, pseudonymisation, erasure, retention."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.privacy.consent import (
        ConsentChange,
        consent_history,
        current_consents,
        set_consent,
    )

__all__ = [
    "ConsentChange",
    "consent_history",
    "current_consents",
    "set_consent",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "ConsentChange": "consent",
    "consent_history": "consent",
    "current_consents": "consent",
    "set_consent": "consent",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
