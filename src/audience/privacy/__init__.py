"""Consent, pseudonymisation, erasure, retention."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

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


def _load(name: str) -> object:
    if name not in _ORIGIN:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_ORIGIN[name]}"), name)
    globals()[name] = value  # later lookups no longer reach _load
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
