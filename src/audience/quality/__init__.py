"""Data quality: normalisers, de-duplication, identity resolution, quarantine.

``unmerge`` and ``quality_report`` share their module's name, so they are imported from
:mod:`.unmerge` and :mod:`.quality_report`, not from this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.quality.clean import CleanReport, clean_workspace
    from audience.quality.impute import impute_features
    from audience.quality.normalise import (
        normalise_category,
        normalise_city,
        normalise_email,
        normalise_name,
        normalise_phone,
        normalise_postcode,
    )

__all__ = [
    "CleanReport",
    "clean_workspace",
    "impute_features",
    "normalise_category",
    "normalise_city",
    "normalise_email",
    "normalise_name",
    "normalise_phone",
    "normalise_postcode",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "CleanReport": "clean",
    "clean_workspace": "clean",
    "impute_features": "impute",
    "normalise_category": "normalise",
    "normalise_city": "normalise",
    "normalise_email": "normalise",
    "normalise_name": "normalise",
    "normalise_phone": "normalise",
    "normalise_postcode": "normalise",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
