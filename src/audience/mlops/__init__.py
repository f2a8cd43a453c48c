"""Keeping segments true over time: drift of the features a run was made on.

Drift (issue 15, part A): reference sketches kept with each run (:mod:`.sketches`), the
per-feature tests (:mod:`.drift_tests`), the dataset verdict (:mod:`.drift`) and where they
are stored (:mod:`.drift_store`). Tracking, the registry, stability across runs and
recalibration add their names below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audience.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from audience.mlops.drift import DatasetDrift, FeatureDriftResult, check_features, compare
    from audience.mlops.drift_store import (
        keep_reference,
        load_sketches,
        record_check,
        store_sketches,
    )
    from audience.mlops.sketches import (
        CategorySketch,
        FeatureSketch,
        GridCounts,
        NumericSketch,
        grid_counts,
        sketch_features,
    )

__all__ = [
    "CategorySketch",
    "DatasetDrift",
    "FeatureDriftResult",
    "FeatureSketch",
    "GridCounts",
    "NumericSketch",
    "check_features",
    "compare",
    "grid_counts",
    "keep_reference",
    "load_sketches",
    "record_check",
    "sketch_features",
    "store_sketches",
]

# Where each public name lives: it is imported on first use (PEP 562), so importing
# this package imports none of its modules.
_ORIGIN = {
    "DatasetDrift": "drift",
    "FeatureDriftResult": "drift",
    "check_features": "drift",
    "compare": "drift",
    "keep_reference": "drift_store",
    "load_sketches": "drift_store",
    "record_check": "drift_store",
    "store_sketches": "drift_store",
    "CategorySketch": "sketches",
    "FeatureSketch": "sketches",
    "GridCounts": "sketches",
    "NumericSketch": "sketches",
    "grid_counts": "sketches",
    "sketch_features": "sketches",
}


_load, __dir__ = lazy_exports(__name__, _ORIGIN, __all__)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__ = _load
