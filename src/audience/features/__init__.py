"""Behavioural features, computed in the warehouse: one row per person."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.features.behaviour import FeatureSummary, compute_features, data_as_of

__all__ = [
    "FeatureSummary",
    "compute_features",
    "data_as_of",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "FeatureSummary": "behaviour",
    "compute_features": "behaviour",
    "data_as_of": "behaviour",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
